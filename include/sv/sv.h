/* sana-video C API: the only public header. No C++ exceptions cross it; every call returns a status
 * and failures leave a one-line message in the handle (or the caller's buffer for loading).
 *
 * Threads: different models (and writers) are independent and may be used from different threads at
 * once. One model may be shared: sv_generate calls on it run one at a time (a second caller waits),
 * sv_generate_check, sv_model_get_info and sv_model_device may run beside them, and
 * sv_model_last_error returns the calling thread's own last error. A writer is used by one thread at a
 * time. Callbacks run on the thread that called sv_generate. A model's results do not depend on the
 * thread that runs it; models running at once give the bytes they give one after the other when they
 * use the same thread count (OpenBLAS keeps one process-wide count).
 *
 *   sv_model* m = NULL;
 *   char err[512];
 *   sv_model_params mp = sv_model_default_params();
 *   if (sv_model_load("path/to/SANA-Video_diffusers", &mp, &m, err, sizeof err) != SV_OK) { puts(err); return 1; }
 *   sv_generate_params gp = sv_generate_default_params();
 *   gp.prompt = "a red circle moving left";
 *   gp.output_path = "out.mp4";
 *   if (sv_generate(m, &gp) != SV_OK) puts(sv_model_last_error(m));
 *   sv_model_free(m);
 */
#ifndef SV_SV_H
#define SV_SV_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SV_API __attribute__((visibility("default")))
#else
#define SV_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sv_status {
  SV_OK = 0,
  SV_ERROR_INVALID_ARGUMENT = 1, /* bad parameters (sizes, sampler, paths) */
  SV_ERROR_MODEL = 2,            /* missing/invalid model files */
  SV_ERROR_IO = 3,               /* reading or writing files */
  SV_ERROR_CANCELLED = 4,        /* the cancel callback asked to stop; no output file was left */
  SV_ERROR_INTERNAL = 5
} sv_status;

typedef struct sv_model sv_model;

typedef struct sv_model_params {
  int threads;        /* 0 = all cores */
  const char* device; /* "cpu", "cuda", "cuda:N"; NULL/"" = cuda when a GPU is present, else cpu */
  const char* dtype;  /* compute dtype "fp32" or "bf16"; NULL/"" = bf16 on a GPU, fp32 on the CPU */
} sv_model_params;

/* A borrowed float32 array, contiguous and row-major; data == NULL means absent. */
typedef struct sv_tensor_f32 {
  const float* data;
  int ndim;
  int64_t shape[8];
} sv_tensor_f32;

/* One entry of a long video's prompt schedule: `prompt` from `start_seconds` on. */
typedef struct sv_prompt_segment {
  double start_seconds;
  const char* prompt;
} sv_prompt_segment;

typedef struct sv_generate_params {
  const char* prompt;
  const char* image_path;      /* optional first frame (PNG/JPEG/...): image-to-video */
  const char* negative_prompt; /* NULL (default): the model's own ("" for SANA-Video folders, as diffusers;
                                  the release's negative prompt for SANA-Video 2.0) */
  /* 0 (or a negative guidance) = the model's defaults: its generation_defaults.json when it has one,
   * else diffusers' 832 x 480, 81 frames, 50 steps, guidance 6, 16 fps. */
  int width, height, frames;
  double seconds;              /* > 0: frames = round(seconds * fps) instead of `frames` */
  int fps;                     /* output file frame rate */
  int steps;
  float guidance_scale;        /* <= 1 disables classifier-free guidance */
  uint64_t seed;
  const char* sampler;         /* NULL/"" = the model's scheduler, "dpm++2m", "euler" or "unipc"; SANA-Video 2.0:
                                  "dpm" (the release's solver; image-to-video uses its Euler) or "dmd" (4 steps) */
  float shift;                 /* 0 = the scheduler's own (SANA-Video 2.0: the release's, 12) */
  int motion_score;            /* >= 0 appends " motion score: N."; -1: none (SANA-Video 2.0: the release's 20) */
  int resolution_binning;      /* 1: generate at the model's nearest aspect bucket, resize back; -1: only where
                                  the model has a bucket table (480p and 720p models); 0: off */
  const char* chi;             /* "diffusers", "official" or "none"; NULL (default): the model's own (diffusers for
                                  SANA-Video folders, the release's instruction for SANA-Video 2.0) */
  /* diffusers' vae.enable_tiling(): spatially tiled VAE decode (and image encode), for VAEs that have it
   * (LTX-2, the 720p model). vae_tile / vae_tile_stride in pixels; 0 = diffusers' 512 / min(448, tile). */
  int vae_tiling;
  int vae_tile, vae_tile_stride;
  const char* output_path;     /* .mp4/.mkv/.mov/.webp/.gif or DIR/ (PNG frames); NULL = no video */
  const char* output_latents_path; /* optional safetensors with the final latents */
  const char* initial_latents_path; /* optional safetensors 'latents' replacing the seeded noise */
  const char* prompt_embeds_path;   /* optional safetensors: prompt_embeds, prompt_attention_mask [, negative_*] */
  /* Long video (LongSANA; use a LongLive checkpoint): block-wise generation with a constant-size state,
   * each block decoded and appended to the output as soon as it is done. steps, guidance, sampler and
   * the image/latents/embeds inputs do not apply. */
  int long_video;                /* non-zero: block-wise generation of `frames` frames */
  int block_frames;              /* latent frames per block; 0 = 10 (official) */
  int window_blocks;             /* attention over the last K blocks; 0 = every earlier block */
  int exact_timesteps;           /* non-zero: feed 889/727, not the reference's bf16-rounded 888/728 */
  const sv_prompt_segment* prompt_schedule; /* optional, ascending from 0 s; replaces `prompt` */
  int prompt_schedule_count;
  /* Called at every stage change and step; elapsed and eta in seconds (eta < 0 when unknown). A call with
   * total == 0 carries a message in `stage` (e.g. the file a long video is streaming to). */
  void (*progress)(const char* stage, int step, int total, double elapsed_s, double eta_s, void* user_data);
  int (*cancel)(void* user_data); /* non-zero stops at the next step or frame */
  void* user_data;
  /* In-memory inputs (what bindings hand over); each replaces its *_path twin above. */
  const uint8_t* image_rgb;    /* first frame, interleaved RGB rows, image_height x image_width x 3 */
  int image_width, image_height;
  sv_tensor_f32 initial_latents;                                    /* [1, C, T, h, w] */
  sv_tensor_f32 prompt_embeds, prompt_attention_mask;               /* [1, L, D], [1, L] */
  sv_tensor_f32 negative_prompt_embeds, negative_prompt_attention_mask;
  /* In-memory outputs. on_frames: decoded frames first .. first + count - 1 of total as float32 RGB in
   * [0, 1], [count, height, width, 3] (diffusers' output_type "np"; the file writer rounds these * 255),
   * as soon as they are decoded; the buffer lives for the call only. Frames are decoded only when
   * on_frames or output_path is set. */
  void (*on_frames)(const float* rgb, int first, int count, int total, int height, int width, void* user_data);
  /* The final latents (before de-normalisation; a long video's last block), float32. */
  void (*on_latents)(const float* data, const int64_t* shape, int ndim, void* user_data);
  /* After each denoising step (not in long video mode): step in 1..total and its timestep. */
  void (*on_step)(int step, int total, double timestep, void* user_data);
  /* Long video only. next_prompt: asked before each block after the first (its index and start time);
   * a non-empty prompt replaces the current one from that block on, exactly as a prompt_schedule entry
   * at block_start_seconds would (the string is copied at once; NULL or "" = no change).
   * on_partial_file: the path of the growing output file (a fragmented MP4 plays while it grows), once
   * it is open; it is renamed to output_path at the end. */
  const char* (*next_prompt)(int block, double block_start_seconds, void* user_data);
  void (*on_partial_file)(const char* path, void* user_data);
  /* Filled on success: seconds per stage, and the frame count and size actually generated. */
  double seconds_encode, seconds_denoise, seconds_decode;
  int frames_written, width_used, height_used;
} sv_generate_params;

SV_API sv_model_params sv_model_default_params(void);
SV_API sv_generate_params sv_generate_default_params(void);
/* The model used when none is named: $SANA_VIDEO_MODEL, else the embedded toy model (installed under
 * share/sana-video/, or in the source tree this build came from); NULL when none is found. */
SV_API const char* sv_default_model_dir(void);
/* dir: a diffusers SanaVideoPipeline folder (model_index.json, tokenizer/, text_encoder/, transformer/, vae/, scheduler/). */
SV_API sv_status sv_model_load(const char* dir, const sv_model_params* params, sv_model** out, char* error,
                               size_t error_size);
SV_API void sv_model_free(sv_model* model);

/* What a loaded model accepts and defaults to (what 0 means in sv_generate_params). */
typedef struct sv_model_info {
  int default_width, default_height, default_frames, default_fps, default_steps;
  float default_guidance_scale;
  int frame_step;    /* frame counts are frame_step * k + 1 */
  int size_multiple; /* width and height are multiples of this */
  int long_video;    /* non-zero: a LongLive checkpoint (its longsana/ sampler config is present) */
} sv_model_info;
SV_API sv_model_info sv_model_get_info(const sv_model* model);
SV_API sv_status sv_generate(sv_model* model, sv_generate_params* params);
/* Every check sv_generate makes on its arguments (sizes, frames, steps, schedule, tensor shapes), without
 * reading files or doing any work; safe beside a running sv_generate on the same model. The message of
 * a failure goes to `error`. */
SV_API sv_status sv_generate_check(const sv_model* model, const sv_generate_params* params, char* error,
                                   size_t error_size);
SV_API const char* sv_model_last_error(const sv_model* model);
/* Where the model runs, e.g. "cpu, fp32" or "NVIDIA H200 (cuda:0), bf16" (valid while the model lives). */
SV_API const char* sv_model_device(const sv_model* model);
/* CUDA devices usable by this process (0 without a GPU or driver, or in a build without CUDA). */
SV_API int sv_cuda_device_count(void);
SV_API const char* sv_status_name(sv_status status);

/* Converts a PyTorch checkpoint (.pth/.pt from torch.save, zip or legacy format), read without running
 * its pickle: anything but tensors, dicts and plain values is refused before a tensor byte is read.
 * config_yaml non-NULL: a SANA-Video 2.0 release (its .pth and the official config.yaml) becomes the model
 * folder `out` (which must not exist; nothing is left there on failure). config_yaml NULL: the state dict
 * becomes the single safetensors file `out`, tensors under their state-dict names, dtypes kept.
 * key: the checkpoint's top-level entry holding the state dict ("state_dict", "state_dict_ema", ...), or
 * NULL to pick it (an error names the candidates when there are several). */
SV_API sv_status sv_convert_checkpoint(const char* in, const char* config_yaml, const char* out, const char* key,
                                       char* error, size_t error_size);

/* The engine's video writer on its own, for frames made elsewhere (e.g. bindings' export_to_video): the
 * format from the path's extension as for output_path, written under a temporary name that
 * sv_video_writer_finish renames into place; freeing an unfinished writer removes it. */
typedef struct sv_video_writer sv_video_writer;
SV_API sv_status sv_video_writer_open(const char* path, int width, int height, int fps, sv_video_writer** out,
                                      char* error, size_t error_size);
/* count frames of interleaved 8-bit RGB, [count, height, width, 3]. */
SV_API sv_status sv_video_writer_write_rgb8(sv_video_writer* writer, const uint8_t* rgb, int count);
SV_API sv_status sv_video_writer_finish(sv_video_writer* writer);
SV_API const char* sv_video_writer_last_error(const sv_video_writer* writer);
SV_API void sv_video_writer_free(sv_video_writer* writer);

#ifdef __cplusplus
}
#endif

#endif /* SV_SV_H */
