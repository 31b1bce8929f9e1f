#!/usr/bin/env python3
"""Golden data for the tokenizer, Gemma2Model and SanaVideoPipeline.encode_prompt.

1. Trains a small SentencePiece BPE tokenizer shaped like Gemma's (byte fallback, <pad>/<eos>/<bos>/<unk>
   = 0/1/2/3, <mask> = 4, no dummy prefix, no whitespace collapsing, identity normalisation) on a corpus
   with punctuation, runs of spaces, tabs, newlines, CJK and emoji.
2. Builds transformers' GemmaTokenizer from its vocabulary and merges (the slow->fast conversion) with a
   <bos> template, and writes three tokenizer folders: json only, model only, both.
3. Builds tiny random Gemma2Models (every parameter randomised, eager attention as the pipeline gets)
   and a SanaVideoPipeline around one of them, and records token ids, hidden states and the 300-token
   prompt embeddings of encode_prompt (with and without the complex human instruction).

Writes tests/golden/text/. Needs torch, transformers, diffusers, sentencepiece, safetensors.
"""
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "text")

CORPUS = [
    "a red circle moving left", "a blue square moving right", "a green triangle moving up",
    "A cat sleeping on a warm sunny windowsill, with gentle sunlight.",
    "A busy city street at dusk: glowing lamps, a crowd, a double-decker bus!",
    "Given a user prompt, generate an 'Enhanced prompt' that provides detailed visual descriptions.",
    "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, motion.",
    "User Prompt: motion score: 30.", "numbers 0 1 2 3 4 5 6 7 8 9 10 100 2024 3.14",
    "tabs\tand\t\ttabs, newlines\nand\n\nmore, runs of    spaces   here",
    "punctuation ?! ... ;; :: () [] {} <> \"quotes\" 'single' -- __ ++ == // \\\\",
    "日本語のテキスト、中文文本，한국어 텍스트", "emoji 🎬🎥✨🙂 and more 🚀",
    "Ünïcödé àccents: café, naïve, São Paulo, Zürich, Ελληνικά, русский текст",
]


def write_corpus(path):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(40):
            for line in CORPUS:
                f.write(line + ("" if i % 2 else " ") + "\n")


def train_tokenizer(tmp):
    corpus = os.path.join(tmp, "corpus.txt")
    write_corpus(corpus)
    prefix = os.path.join(tmp, "sp")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=600, model_type="bpe", byte_fallback=True,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=["<mask>"], add_dummy_prefix=False,
        remove_extra_whitespaces=False, normalization_rule_name="identity", character_coverage=0.9995,
        split_by_whitespace=True, allow_whitespace_only_pieces=True, split_digits=False, seed_sentencepiece_size=10000,
        minloglevel=2)
    return prefix + ".model"


def hf_tokenizer(model_path):
    from tokenizers import processors
    from transformers import GemmaTokenizer
    from transformers.convert_slow_tokenizer import SentencePieceExtractor
    kw = SentencePieceExtractor(model_path).extract(None)
    vocab, merges = kw["vocab"], kw["merges"]
    tok = GemmaTokenizer(vocab=vocab, merges=merges)
    tok._tokenizer.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", 2)])
    return tok


TOKENIZER_TEXTS = [
    "a red circle moving left", "Hello,   world!\tTabs\n\nnewlines  ", "日本語のテキストと中文",
    "emoji 🎬✨ mixed with text", "unseen symbols ℵ∂∑ and ÆØÅ", "", " leading and trailing ",
    "motion score: 30.", "x" * 50, "<mask> in text", "a\u00a0non-breaking space",
]


def gemma_config(**kw):
    from transformers import Gemma2Config
    base = dict(vocab_size=600, hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=2, head_dim=8, query_pre_attn_scalar=16, sliding_window=6,
                max_position_embeddings=512, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                pad_token_id=0, eos_token_id=1, bos_token_id=2)
    base.update(kw)
    return Gemma2Config(**base)


def tiny_gemma(seed, **kw):
    from transformers import Gemma2Model
    torch.manual_seed(seed)
    cfg = gemma_config(**kw)
    cfg._attn_implementation = "eager"
    m = Gemma2Model(cfg).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return m


def write_masked_rows_case():
    """gemma_c: right padding longer than a sliding window, so padded query rows of the sliding layers
    see no key at all (transformers' eager path then averages every key); batch rows of different
    lengths. Written from random ids, no tokenizer needed."""
    name = "gemma_c"
    m = tiny_gemma(14, num_hidden_layers=2, sliding_window=3, layer_types=["sliding_attention", "full_attention"])
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    m.save_pretrained(d)
    g = torch.Generator().manual_seed(14)
    ids = torch.randint(4, 600, (2, 12), generator=g)
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[0, 9:] = 0
    mask[1, 4:] = 0
    ids[mask == 0] = 0
    out = m(ids, attention_mask=mask)[0]
    save_file({"input_ids": ids, "attention_mask": mask}, os.path.join(d, "inputs.safetensors"))
    save_file({"last_hidden_state": out.contiguous()}, os.path.join(d, "expected.safetensors"))
    print(name, tuple(out.shape), float(out.abs().max()))


def main():
    torch.set_grad_enabled(False)
    if sys.argv[1:] == ["--only", "gemma_c"]:
        write_masked_rows_case()
        return
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sp_model = train_tokenizer(tmp)
        tok = hf_tokenizer(sp_model)
        sp = spm.SentencePieceProcessor(model_file=sp_model)
        # Three folder flavours.
        for name, json_too, model_too in [("tok_json", True, False), ("tok_model", False, True), ("tok_both", True, True)]:
            d = os.path.join(OUT, name)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            if json_too:
                tok.save_pretrained(d)
            if model_too:
                shutil.copy(sp_model, os.path.join(d, "tokenizer.model"))
        # Expected ids: transformers (json) and sentencepiece + BOS must agree; record both.
        cases = []
        for t in TOKENIZER_TEXTS:
            hf_ids = tok(t, add_special_tokens=True)["input_ids"]
            sp_ids = [2] + sp.encode(t)
            cases.append({"text": t, "ids": hf_ids, "sentencepiece_ids": sp_ids})
            if hf_ids != sp_ids:
                print("NOTE: transformers and sentencepiece differ on", repr(t), hf_ids, sp_ids)
        # Padding + truncation as the pipeline calls it (it sets right padding).
        tok.padding_side = "right"
        enc = tok(["a red circle", "Hello,   world!\tTabs\n\nnewlines and a long tail of words"], padding="max_length",
                  max_length=12, truncation=True, add_special_tokens=True)
        with open(os.path.join(OUT, "tokenizer_cases.json"), "w", encoding="utf-8") as f:
            json.dump({"cases": cases, "padded": {"texts": ["a red circle",
                                                             "Hello,   world!\tTabs\n\nnewlines and a long tail of words"],
                                                   "max_length": 12, "input_ids": enc["input_ids"],
                                                   "attention_mask": enc["attention_mask"]}},
                      f, ensure_ascii=False, indent=1)

        # Gemma2 forward goldens.
        for name, seed, kw in [("gemma_a", 11, {}), ("gemma_b", 12, dict(num_hidden_layers=2, num_attention_heads=2,
                                                                           num_key_value_heads=1, head_dim=16,
                                                                           hidden_size=24, query_pre_attn_scalar=12,
                                                                           sliding_window=4096))]:
            m = tiny_gemma(seed, **kw)
            d = os.path.join(OUT, name)
            shutil.rmtree(d, ignore_errors=True)
            m.save_pretrained(d)
            texts = ["a red circle moving left, then a blue square moving right", "hello\tworld 🎬"]
            # gemma_a: left padding (a fully masked first key row); gemma_b: right padding as the pipeline uses.
            tok.padding_side = "left" if name == "gemma_a" else "right"
            enc = tok(texts, padding="max_length", max_length=20, truncation=True, return_tensors="pt")
            out = m(enc["input_ids"], attention_mask=enc["attention_mask"])[0]
            save_file({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]},
                      os.path.join(d, "inputs.safetensors"))
            save_file({"last_hidden_state": out.contiguous()}, os.path.join(d, "expected.safetensors"))
            print(name, tuple(out.shape), float(out.abs().max()))

        write_masked_rows_case()

        # encode_prompt through the real pipeline class.
        from diffusers import AutoencoderKLWan, DPMSolverMultistepScheduler, SanaVideoPipeline, SanaVideoTransformer3DModel
        te = tiny_gemma(13, hidden_size=32)
        tr = SanaVideoTransformer3DModel(in_channels=16, out_channels=16, num_attention_heads=2, attention_head_dim=12,
                                         num_layers=1, num_cross_attention_heads=2, cross_attention_head_dim=12,
                                         cross_attention_dim=24, caption_channels=32, sample_size=8)
        vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True])
        pipe = SanaVideoPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr,
                                 scheduler=DPMSolverMultistepScheduler())
        d = os.path.join(OUT, "pipeline")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        te.save_pretrained(os.path.join(d, "text_encoder"))
        tok.save_pretrained(os.path.join(d, "tokenizer"))
        prompts = ["A Red Circle moving LEFT", "  a blue square\tmoving right  "]
        neg = "blurry, low quality"
        tensors = {}
        import inspect
        chi_default = inspect.signature(SanaVideoPipeline.__call__).parameters["complex_human_instruction"].default
        for tag, chi in [("chi", chi_default), ("nochi", [])]:
            kwargs = {"complex_human_instruction": chi}
            pe, pm, ne, nm = pipe.encode_prompt(prompts, do_classifier_free_guidance=True, negative_prompt=neg,
                                                device="cpu", max_sequence_length=300, **kwargs)
            tensors.update({f"{tag}.prompt_embeds": pe, f"{tag}.prompt_attention_mask": pm,
                            f"{tag}.negative_prompt_embeds": ne, f"{tag}.negative_prompt_attention_mask": nm})
        save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(d, "expected.safetensors"))
        with open(os.path.join(d, "prompts.json"), "w", encoding="utf-8") as f:
            json.dump({"prompts": prompts, "negative_prompt": neg}, f, ensure_ascii=False)
        print("pipeline", {k: tuple(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()
