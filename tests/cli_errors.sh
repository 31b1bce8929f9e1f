#!/usr/bin/env bash
# CLI contract: the runner works on a save_pretrained directory and matches the golden sample;
# bad input gives one error line on stderr, a non-zero exit, no crash and no output file.
set -u
BIN="$1"; GOLD="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0; pass=0
check_err() {  # name, expected substring, command...
  local name="$1" want="$2"; shift 2
  "$@" >"$T/out.txt" 2>"$T/err.txt"; local rc=$?
  local lines; lines=$(grep -c "^sana-video: error:" "$T/err.txt")  # progress lines may precede it
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] && grep -q -- "$want" "$T/err.txt" && [ ! -e "$T/o.safetensors" ]; then
    pass=$((pass+1))
  else
    echo "FAIL $name (rc=$rc, stderr lines=$lines): $(cat "$T/err.txt")"; fail=$((fail+1))
  fi
  rm -f "$T/o.safetensors"
}
M="$GOLD/sana_dit/p122_b2_mask"
# The happy path: output equals the diffusers sample.
if "$BIN" run transformer --model "$M" --inputs "$M/inputs.safetensors" --output "$T/ok.safetensors" &&
   "$BIN" compare "$T/ok.safetensors" "$M/expected.safetensors" --tensor sample --tol 1e-4; then
  pass=$((pass+1)); else echo "FAIL runner parity"; fail=$((fail+1)); fi

check_err missing-model "model directory not found" "$BIN" run transformer --model "$T/nope" --inputs "$M/inputs.safetensors" --output "$T/o.safetensors"
check_err missing-opt "missing required option --inputs" "$BIN" run transformer --model "$M" --output "$T/o.safetensors"
head -c 100 "$M/inputs.safetensors" > "$T/trunc.safetensors"
check_err truncated "trunc.safetensors" "$BIN" run transformer --model "$M" --inputs "$T/trunc.safetensors" --output "$T/o.safetensors"
mkdir -p "$T/badcfg"; cp "$M/diffusion_pytorch_model.safetensors" "$T/badcfg/"; echo "{nope" > "$T/badcfg/config.json"
check_err bad-config "config.json: not valid JSON" "$BIN" run transformer --model "$T/badcfg" --inputs "$M/inputs.safetensors" --output "$T/o.safetensors"
mkdir -p "$T/trw"; cp "$M/config.json" "$T/trw/"; head -c 5000 "$M/diffusion_pytorch_model.safetensors" > "$T/trw/diffusion_pytorch_model.safetensors"
check_err truncated-weights "diffusion_pytorch_model.safetensors" "$BIN" run transformer --model "$T/trw" --inputs "$M/inputs.safetensors" --output "$T/o.safetensors"
check_err wrong-caption "'encoder_hidden_states' must be" "$BIN" run transformer --model "$M" --inputs "$GOLD/sana_dit/p111_odd/inputs.safetensors" --output "$T/o.safetensors"
B="$GOLD/sana_dit/bad_inputs"
check_err wrong-channels "channels but the model's in_channels" "$BIN" run transformer --model "$M" --inputs "$B/wrong_channels.safetensors" --output "$T/o.safetensors"
check_err wrong-rank "'hidden_states' must be \[B, C, F, H, W\]" "$BIN" run transformer --model "$M" --inputs "$B/wrong_rank.safetensors" --output "$T/o.safetensors"
check_err bad-mask "encoder_attention_mask must be" "$BIN" run transformer --model "$M" --inputs "$B/bad_mask.safetensors" --output "$T/o.safetensors"
check_err unknown-cmd "unknown command" "$BIN" frobnicate
check_err too-big "MiB of host RAM for the transformer" "$BIN" generate -p "x" -W 99992 -H 99992 --frames 9 -o "$T/huge.mp4"
[ ! -e "$T/huge.mp4" ] || { echo "FAIL too-big left a file"; fail=$((fail+1)); }
# A full disk (here a 1 KiB file-size limit): one error line, no partial file. stderr goes through a
# pipe (the limit applies to files), keeping the last lines.
mkdir -p "$T/full"
LIMIT='ulimit -f 1; "$0" "$@" 2>&1 >/dev/null | tail -n 2 >&2; exit ${PIPESTATUS[0]}'
check_err disk-full-mp4 "File too large" bash -c "$LIMIT" "$BIN" generate -p "a red circle" -o "$T/full/out.mp4"
check_err disk-full-png "write failed" bash -c "$LIMIT" "$BIN" generate -p "a red circle" -o "$T/full/frames/"
check_err disk-full-long "too large\|write" bash -c "$LIMIT" "$BIN" generate -m "$GOLD/pipeline/tiny_t2v" --long -W 64 -H 32 --frames 33 --block-frames 3 -p "a red circle" -o "$T/full/long.mp4"
[ -z "$(ls -A "$T/full")" ] || { echo "FAIL disk-full left $(ls "$T/full")"; fail=$((fail+1)); }
check_err serve-port "--port must be an integer" "$BIN" serve --port http
check_err serve-opt "unknown option '--bogus'" "$BIN" serve --bogus 1
check_err serve-model "model_index.json" "$BIN" serve -m "$T" --port 0 --cache-dir "$T/cache"
check_err unwritable "cannot write" "$BIN" run transformer --model "$M" --inputs "$M/inputs.safetensors" --output "/nonexistent-dir/o.safetensors"
# Text side: encode_prompt and Gemma2 runners against the transformers/diffusers goldens.
P="$GOLD/text/pipeline"
if "$BIN" run text-encoder --model "$P" --prompt "A Red Circle moving LEFT" --prompt "  a blue square	moving right  " \
     --negative "blurry, low quality" --output "$T/te.safetensors" &&
   "$BIN" compare "$T/te.safetensors" "$P/expected.safetensors" --tensor prompt_embeds:chi.prompt_embeds \
     --tensor prompt_attention_mask:chi.prompt_attention_mask --tensor negative_prompt_embeds:chi.negative_prompt_embeds \
     --tol 1e-4 >/dev/null; then pass=$((pass+1)); else echo "FAIL text-encoder parity"; fail=$((fail+1)); fi
G="$GOLD/text/gemma_b"
if "$BIN" run gemma2 --model "$G" --inputs "$G/inputs.safetensors" --output "$T/g.safetensors" &&
   "$BIN" compare "$T/g.safetensors" "$G/expected.safetensors" --tol 1e-4 >/dev/null; then pass=$((pass+1)); else echo "FAIL gemma2 parity"; fail=$((fail+1)); fi
check_err no-tokenizer "tokenizer directory not found" "$BIN" run text-encoder --model "$GOLD/text" --prompt x --output "$T/o.safetensors"
check_err bad-chi "--chi must be" "$BIN" run text-encoder --model "$P" --prompt x --chi fancy --output "$T/o.safetensors"
check_err gemma-ids "missing input tensor 'input_ids'" "$BIN" run gemma2 --model "$G" --inputs "$G/expected.safetensors" --output "$T/o.safetensors"
# VAE: parity of both runners, and real video files (ffprobe reads back count, size, fps).
V="$GOLD/wan_vae/wan21_mini"
if "$BIN" run vae-decode --model "$V" --inputs "$V/inputs.safetensors" --output "$T/vd.safetensors" --video "$T/v.mp4" --fps 12 &&
   "$BIN" compare "$T/vd.safetensors" "$V/expected.safetensors" --tensor sample --tol 1e-4 >/dev/null &&
   [ "$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=codec_name,width,height,r_frame_rate,pix_fmt,nb_read_frames -of csv=p=0 "$T/v.mp4")" = "h264,56,40,yuv420p,12/1,9" ]; then
  pass=$((pass+1)); else echo "FAIL vae-decode parity / mp4"; fail=$((fail+1)); fi
if "$BIN" run vae-encode --model "$V" --inputs "$V/inputs.safetensors" --output "$T/ve.safetensors" &&
   "$BIN" compare "$T/ve.safetensors" "$V/expected.safetensors" --tensor latent_mean --tol 1e-4 >/dev/null; then
  pass=$((pass+1)); else echo "FAIL vae-encode parity"; fail=$((fail+1)); fi
if "$BIN" run vae-decode --model "$V" --inputs "$V/inputs.safetensors" --video "$T/v.gif" &&
   [ "$(ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,nb_read_frames -of csv=p=0 "$T/v.gif")" = "gif,56,40,9" ] &&
   "$BIN" run vae-decode --model "$V" --inputs "$V/inputs.safetensors" --video "$T/v.webp" &&
   [ "$(grep -a -o ANMF "$T/v.webp" | wc -l)" = 9 ] &&
   "$BIN" run vae-decode --model "$V" --inputs "$V/inputs.safetensors" --video "$T/png/" &&
   [ "$(ls "$T/png" | wc -l)" = 9 ] && [ -z "$(ls "$T" | grep part)" ]; then
  pass=$((pass+1)); else echo "FAIL gif/webp/png outputs"; fail=$((fail+1)); fi
BV="$GOLD/wan_vae/bad_inputs"
check_err vae-zero "empty dimension" "$BIN" run vae-decode --model "$V" --inputs "$BV/zero_frames.safetensors" --output "$T/o.safetensors"
check_err vae-channels "'latents' must be \[B, 4" "$BIN" run vae-decode --model "$V" --inputs "$BV/wrong_channels.safetensors" --output "$T/o.safetensors"
check_err vae-empty-video "empty dimension" "$BIN" run vae-encode --model "$V" --inputs "$BV/empty_video.safetensors" --output "$T/o.safetensors"
check_err vae-codec "unknown output format '.avi'" "$BIN" run vae-decode --model "$V" --inputs "$V/inputs.safetensors" --video "$T/o.avi"
check_err vae-unwritable "cannot write" "$BIN" run vae-decode --model "$V" --inputs "$V/inputs.safetensors" --video "/nonexistent-dir/o.mp4"
[ -z "$(ls "$T" | grep -e part -e '^o\.')" ] && pass=$((pass+1)) || { echo "FAIL partial files left: $(ls "$T")"; fail=$((fail+1)); }
# LTX-2 VAE (720p): both runners on its folder (class from config.json), tiled decode, an MP4 while
# decoding, and its refusals.
L="$GOLD/ltx2_vae/a"
if "$BIN" run vae-decode --model "$L" --inputs "$L/inputs.safetensors" --output "$T/ld.safetensors" --video "$T/l.mp4" &&
   "$BIN" compare "$T/ld.safetensors" "$L/expected.safetensors" --tensor sample --tol 1e-4 >/dev/null &&
   [ "$(ffprobe -v error -count_frames -show_entries stream=width,height,nb_read_frames -of csv=p=0 "$T/l.mp4")" = "96,64,17" ] &&
   "$BIN" run vae-encode --model "$L" --inputs "$L/inputs.safetensors" --output "$T/le.safetensors" &&
   "$BIN" compare "$T/le.safetensors" "$L/expected.safetensors" --tensor latent_mean --tol 1e-4 >/dev/null; then
  pass=$((pass+1)); else echo "FAIL ltx2 vae-decode / vae-encode parity"; fail=$((fail+1)); fi
BL="$GOLD/ltx2_vae/bad_inputs"
check_err ltx2-frames "8k + 1 frames, got 10; nearest valid: 9" "$BIN" run vae-encode --model "$L" --inputs "$BL/video_10_frames.safetensors" --output "$T/o.safetensors"
check_err ltx2-height "multiple of 32, got 48; nearest valid: 64" "$BIN" run vae-encode --model "$L" --inputs "$BL/video_48_high.safetensors" --output "$T/o.safetensors"
check_err ltx2-tile "multiples of 32 pixels, got 48" "$BIN" run vae-decode --model "$L" --inputs "$L/inputs.safetensors" --vae-tile 48 --output "$T/o.safetensors"
check_err wan-tiling "not implemented for the Wan VAE" "$BIN" run vae-decode --model "$V" --inputs "$V/inputs.safetensors" --vae-tiling 1 --output "$T/o.safetensors"
mkdir -p "$T/ltc"; cp "$L/diffusion_pytorch_model.safetensors" "$T/ltc/"
sed 's/"timestep_conditioning": false/"timestep_conditioning": true/' "$L/config.json" > "$T/ltc/config.json"
check_err ltx2-timestep "timestep_conditioning is not supported" "$BIN" run vae-decode --model "$T/ltc" --inputs "$L/inputs.safetensors" --output "$T/o.safetensors"
check_err ltx2-long-tiling "not available in long video mode" "$BIN" generate -m "$GOLD/ltx2_pipeline/tiny_720" -p x -W 64 -H 64 --long --frames 9 --vae-tiling -o "$T/o.mp4"
check_err ltx2-720-frames "8k + 1; nearest valid: 9" "$BIN" generate -m "$GOLD/ltx2_pipeline/tiny_720" -p x -W 64 -H 64 --frames 12 -o "$T/o.mp4"
[ ! -e "$T/o.mp4" ] || { echo "FAIL ltx2-720-frames left a file"; fail=$((fail+1)); }
# generate: end to end on a save_pretrained SanaVideoPipeline folder, against diffusers' latents
# (on the CPU in fp32: on a GPU machine the default would be cuda + bf16, another tolerance).
PL="$GOLD/pipeline/tiny_t2v"
if "$BIN" generate --device cpu -m "$PL" -p "A Red Circle moving left" -W 64 -H 32 --frames 9 --steps 4 --cfg 4.5 --seed 0 \
     -o "$T/g.mp4" --output-latents "$T/gl.safetensors" 2>"$T/gen.log" &&
   "$BIN" compare "$T/gl.safetensors" "$GOLD/pipeline/t2v_dpm.safetensors" --tensor latents --tol 1e-3 >/dev/null &&
   [ "$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames,width,height -of csv=p=0 "$T/g.mp4")" = "64,32,9" ] &&
   grep -q "denoise\]   4/4" "$T/gen.log" && grep -q "^done:" "$T/gen.log"; then
  pass=$((pass+1)); else echo "FAIL generate parity"; cat "$T/gen.log"; fail=$((fail+1)); fi
check_err gen-device "unknown device 'gpu'" "$BIN" generate -m "$PL" -p x --device gpu -o "$T/o.mp4"
check_err gen-dtype-cpu "fp32 only" "$BIN" generate -m "$PL" -p x --device cpu --dtype bf16 -o "$T/o.mp4"
check_err gen-dtype "unknown compute dtype" "$BIN" generate -m "$PL" -p x --dtype fp8 -o "$T/o.mp4"
check_err gen-size "nearest valid: 32" "$BIN" generate -m "$PL" -p x -W 64 -H 30 --frames 9 -o "$T/o.mp4"
check_err gen-frames "nearest valid: 9" "$BIN" generate -m "$PL" -p x -W 64 -H 32 --frames 10 -o "$T/o.mp4"
check_err gen-steps "steps must be" "$BIN" generate -m "$PL" -p x -W 64 -H 32 --frames 9 --steps 0 -o "$T/o.mp4"
check_err gen-cfg "guidance scale must not be negative" "$BIN" generate -m "$PL" -p x -W 64 -H 32 --frames 9 --cfg -1 -o "$T/o.mp4"
check_err gen-sampler "unknown sampler" "$BIN" generate -m "$PL" -p x -W 64 -H 32 --frames 9 --sampler ddim -o "$T/o.mp4"
check_err gen-ext "unknown output format" "$BIN" generate -m "$PL" -p x -W 64 -H 32 --frames 9 -o "$T/o.avi"
mkdir -p "$T/novae"; cp -r "$PL/model_index.json" "$PL/tokenizer" "$PL/text_encoder" "$PL/transformer" "$PL/scheduler" "$T/novae/"
check_err gen-missing-part "missing pipeline part folder" "$BIN" generate -m "$T/novae" -p x -W 64 -H 32 --frames 9 -o "$T/o.mp4"
# Precomputed embeddings (run text-encoder) give the same latents as the prompt itself.
if "$BIN" run text-encoder --model "$PL" --prompt "A Red Circle moving left" --negative "" --output "$T/emb.safetensors" &&
   "$BIN" generate --device cpu -m "$PL" --prompt-embeds "$T/emb.safetensors" -W 64 -H 32 --frames 9 --steps 4 --cfg 4.5 --seed 0 \
     -o "$T/e.mp4" --output-latents "$T/el.safetensors" 2>/dev/null &&
   "$BIN" compare "$T/el.safetensors" "$GOLD/pipeline/t2v_dpm.safetensors" --tensor latents --tol 1e-3 >/dev/null; then
  pass=$((pass+1)); else echo "FAIL prompt-embeds"; fail=$((fail+1)); fi
# Image-to-video through the CLI, against SanaImageToVideoPipeline's latents.
if "$BIN" generate --device cpu -m "$PL" -p "a red circle moving left" --image "$GOLD/images/down.png" -W 64 -H 32 --frames 9 --steps 4 \
     --cfg 5 --seed 11 --sampler euler --shift 8 -o "$T/i.gif" --output-latents "$T/il.safetensors" 2>/dev/null &&
   "$BIN" compare "$T/il.safetensors" "$GOLD/pipeline/i2v_euler.safetensors" --tensor latents --tol 1e-3 >/dev/null; then
  pass=$((pass+1)); else echo "FAIL i2v parity"; fail=$((fail+1)); fi
check_err gen-bad-image "corrupt" "$BIN" generate -m "$PL" -p x --image "$GOLD/images/corrupt.jpg" -W 64 -H 32 --frames 9 -o "$T/o.mp4"
check_err gen-missing-image "image not found" "$BIN" generate -m "$PL" -p x --image "$T/none.png" -W 64 -H 32 --frames 9 -o "$T/o.mp4"
check_err gen-binning "sample_size 8" "$BIN" generate -m "$PL" -p x -W 64 -H 32 --frames 9 --resolution-binning -o "$T/o.mp4"
# Ctrl-C mid-run: clean stop, exit 130, no file left.
# The signal is sent once denoising has begun (a fast machine runs 1000 tiny steps in half a second).
"$BIN" generate -m "$PL" -p x -W 128 -H 64 --frames 17 --steps 1000 -o "$T/int.mp4" 2>"$T/int.log" & gp=$!
for _ in $(seq 1 600); do grep -q "denoise.* [1-9][0-9]*/1000" "$T/int.log" 2>/dev/null && break; sleep 0.05; done
kill -INT $gp; wait $gp; rc=$?
if [ $rc -eq 130 ] && [ -z "$(ls "$T" | grep -e '^int\.mp4' )" ] && grep -q "interrupted" "$T/int.log"; then pass=$((pass+1));
else echo "FAIL ctrl-c (rc=$rc): $(tail -1 "$T/int.log") $(ls "$T")"; fail=$((fail+1)); fi
# Long video (LongSANA): streamed block by block into a growing fragmented MP4, then renamed.
if "$BIN" generate -m "$PL" --long --frames 33 --block-frames 3 -W 64 -H 32 --fps 8 -p "a red circle" \
     --prompt-at "2:a blue square" -o "$T/long.mp4" 2>"$T/long.log" &&
   [ "$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$T/long.mp4")" = 33 ] &&
   grep -q "streaming to" "$T/long.log"; then
  pass=$((pass+1)); else echo "FAIL long video"; cat "$T/long.log"; fail=$((fail+1)); fi
rm -f "$T/o.mp4"
check_err long-overlap "overlap" "$BIN" generate -m "$PL" --long --frames 33 --block-frames 3 -W 64 -H 32 --fps 8 -p a --prompt-at "2:b" --prompt-at "2.5:c" -o "$T/o.mp4"
check_err long-order "must increase" "$BIN" generate -m "$PL" --long --frames 33 --block-frames 3 -W 64 -H 32 --fps 8 -p a --prompt-at "3:b" --prompt-at "1:c" -o "$T/o.mp4"
check_err long-start "must start at 0 s" "$BIN" generate -m "$PL" --long --frames 33 -W 64 -H 32 --prompt-at "1:b" -o "$T/o.mp4"
check_err long-length "at most 4093 frames" "$BIN" generate -m "$PL" --long --seconds 600 -W 64 -H 32 -p a -o "$T/o.mp4"
check_err long-needs-flag "need --long" "$BIN" generate -m "$PL" --seconds 5 -W 64 -H 32 -p a -o "$T/o.mp4"
check_err long-bad-at "must be SECONDS:PROMPT" "$BIN" generate -m "$PL" --long -W 64 -H 32 --prompt-at "no time" -o "$T/o.mp4"
printf '0 a red circle\n# comment\n\nx not a time\n' > "$T/sched.txt"
check_err long-bad-file "sched.txt:4" "$BIN" generate -m "$PL" --long -W 64 -H 32 --prompt-schedule "$T/sched.txt" -o "$T/o.mp4"
[ ! -e "$T/o.mp4" ] && pass=$((pass+1)) || { echo "FAIL long errors left a file"; fail=$((fail+1)); }
B2="$GOLD/long"
SANA_VIDEO_MODEL="$T/none" check_err default-model "pipeline directory not found" "$BIN" generate -p x -o "$T/o.mp4"
# The README's main command: no -m -> the embedded toy model and its generation defaults (17 frames of
# 32 x 32); a prompt far outside the toy vocabulary (byte-fallback pieces) must generate too.
TOY="$(dirname "$0")/../models/sana-video-toy"
for prompt in "a red circle moving left" "Ünïcödé 🎥 hexagon, 4K!!"; do
  if env -u SANA_VIDEO_MODEL "$BIN" generate -p "$prompt" -o "$T/toy.mp4" 2>"$T/toy.log" &&
     [ "$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,width,height -of csv=p=0 "$T/toy.mp4")" = "32,32,17" ] &&
     grep -q "sana-video-toy" "$T/toy.log"; then
    pass=$((pass+1)); else echo "FAIL default toy model ($prompt)"; cat "$T/toy.log"; fail=$((fail+1)); fi
  rm -f "$T/toy.mp4"
done
[ -f "$TOY/model_index.json" ] || { echo "FAIL $TOY is missing"; fail=$((fail+1)); }
# The cached causal mode block by block == diffusers' transformer with the official chunk-causal
# attention and temporal conv patched in (tools/reference/make_long_goldens.py).
if "$BIN" run transformer-blocks --model "$M" --inputs "$B2/inputs.safetensors" --output "$T/tb.safetensors" &&
   "$BIN" compare "$T/tb.safetensors" "$B2/expected.safetensors" --tensor sample --tol 1e-4; then
  pass=$((pass+1)); else echo "FAIL transformer-blocks parity"; fail=$((fail+1)); fi
check_err blocks-window "--window-blocks must be >= 0" "$BIN" run transformer-blocks --model "$M" --inputs "$B2/inputs.safetensors" --output "$T/o.safetensors" --window-blocks -1
check_err blocks-missing "missing input tensor 'context_latents'" "$BIN" run transformer-blocks --model "$M" --inputs "$M/inputs.safetensors" --output "$T/o.safetensors"
# SANA-Video 2.0: convert the release (.pth + config.yaml), run its transformer, match the official
# modules; hostile and mismatched inputs are one error line and leave no folder.
S2="$GOLD/sana_video2/tiny"
if "$BIN" convert "$S2/model.pth" --config "$S2/config.yaml" -o "$T/sv2" >/dev/null &&
   "$BIN" run transformer --model "$T/sv2" --inputs "$S2/per_frame/inputs.safetensors" --output "$T/sv2.safetensors" &&
   "$BIN" compare "$T/sv2.safetensors" "$S2/per_frame/expected.safetensors" --tensor sample --tol 1e-4; then
  pass=$((pass+1)); else echo "FAIL sana-video 2.0 convert + run transformer parity"; fail=$((fail+1)); fi
check_err sv2-hostile "refusing global posix.system" "$BIN" convert "$GOLD/pth/hostile_os_system.pth" --config "$S2/config.yaml" -o "$T/o.safetensors"
check_err sv2-hostile-plain "refusing global builtins.eval" "$BIN" convert "$GOLD/pth/hostile_eval.pth" -o "$T/o.safetensors"
sed 's/ffn_type: SwiGLU/ffn_type: GLUMBConv/' "$S2/config.yaml" > "$T/bad.yaml"
check_err sv2-yaml-key "model.ffn_type = GLUMBConv is not supported" "$BIN" convert "$S2/model.pth" --config "$T/bad.yaml" -o "$T/o.safetensors"
sed 's/mlp_ratio: 2.5/mlp_ratio: 4.0/' "$S2/config.yaml" > "$T/shape.yaml"
check_err sv2-shapes "does not match" "$BIN" convert "$S2/model.pth" --config "$T/shape.yaml" -o "$T/o.safetensors"
check_err sv2-exists "already exists" "$BIN" convert "$S2/model.pth" --config "$S2/config.yaml" -o "$T/sv2"
check_err sv2-key "no top-level entry 'nope'" "$BIN" convert "$S2/model.pth" -o "$T/o.safetensors" --key nope
check_err sv2-not-pth "not a PyTorch checkpoint" "$BIN" convert "$S2/config.yaml" -o "$T/o.safetensors"
check_err sv2-generate-parts "needs the LTX-2.3 VAE" "$BIN" generate -m "$T/sv2" -p "x" -W 64 -H 64 --frames 9 -o "$T/o.mp4"
# With its VAE and text encoder beside it, the converted release generates (the release's defaults,
# image-to-video, the 4-step preview) and refuses the 1.0-only options.
GA="$(cd "$GOLD" && pwd)"
ln -s "$GA/ltx2_vae/c" "$T/sv2/vae"; ln -s "$GA/ltx2_pipeline/tiny_720/text_encoder" "$T/sv2/text_encoder"
ln -s "$GA/ltx2_pipeline/tiny_720/tokenizer" "$T/sv2/tokenizer"
for extra in "--steps 6" "--steps 3 --image $GOLD/images/down.png" "--steps 4 --sampler dmd --cfg 1"; do
  # shellcheck disable=SC2086
  if "$BIN" generate -m "$T/sv2" -p "a red circle moving left" -W 64 -H 64 --frames 9 $extra -o "$T/sv2.mp4" 2>"$T/sv2.log" &&
     [ "$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,width,height -of csv=p=0 "$T/sv2.mp4")" = "64,64,9" ]; then
    pass=$((pass+1)); else echo "FAIL sana-video 2.0 generate ($extra)"; cat "$T/sv2.log"; fail=$((fail+1)); fi
  rm -f "$T/sv2.mp4"
done
check_err sv2-long "runs SANA-Video models only" "$BIN" generate -m "$T/sv2" -p "x" -W 64 -H 64 --long --seconds 2 -o "$T/o.mp4"
check_err sv2-sampler "unknown sampler 'unipc' for SANA-Video 2.0" "$BIN" generate -m "$T/sv2" -p "x" -W 64 -H 64 --frames 9 --sampler unipc -o "$T/o.mp4"
check_err sv2-dmd-cfg "runs without guidance" "$BIN" generate -m "$T/sv2" -p "x" -W 64 -H 64 --frames 9 --steps 4 --sampler dmd --cfg 8 -o "$T/o.mp4"
check_err sv2-size "width 80 is not a multiple of 32" "$BIN" generate -m "$T/sv2" -p "x" -W 80 -H 64 --frames 9 -o "$T/o.mp4"
check_err sv2-v1-inputs "no guidance embedding" "$BIN" run transformer --model "$T/sv2" --inputs "$GOLD/sana_dit/affine_guidance/inputs.safetensors" --output "$T/o.safetensors"
check_err sv1-on-sv2-inputs "channels but the model's in_channels" "$BIN" run transformer --model "$M" --inputs "$S2/scalar/inputs.safetensors" --output "$T/o.safetensors"
[ ! -e "$T/o.mp4" ] || { echo "FAIL sv2-generate left a file"; fail=$((fail+1)); }
echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
