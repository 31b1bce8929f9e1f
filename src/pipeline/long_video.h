// LongSANA block-wise autoregressive generation (official inference_sana_video.py with
// vis_sampler = longlive_flow_euler, and the interactive pipeline's prompt switching): blocks of latent
// frames are generated one after another with a few-step sampler; each finished block is written into
// the transformer's constant-size causal state by a clean pass at timestep 0, decoded by the causal VAE
// (which keeps its own cache) and handed out at once. Memory does not grow with the video's length.
#pragma once
#include <string>
#include <vector>

#include "pipeline/sana_video_pipeline.h"
#include "sampling/longlive.h"

namespace sv::pipeline {

struct PromptSegment {
  double start_seconds = 0;
  std::string prompt;
};

struct LongGenerateParams {
  std::vector<PromptSegment> prompts;  // ascending, the first at 0 s
  int height = 480, width = 832;
  int64_t frames = 161;  // pixel frames, 4k + 1
  int fps = 16;          // maps prompt times to frames
  uint64_t seed = 0;
  int64_t block_frames = 10;  // latent frames per block (official: data.num_frames / 4 = 10)
  int64_t window_blocks = 0;  // attention over the last K blocks only; 0 = all earlier blocks
  bool recache_on_switch = true;  // re-encode the previous block under a new prompt (official default)
  sampling::LongLiveSchedule schedule;
  int motion_score = -1;
  Chi chi = Chi::Default;
  int max_sequence_length = 300;
};

// The block layout and prompt per block, checked against the model; what generate_long will do.
struct LongPlan {
  int64_t latent_frames = 0;
  std::vector<int64_t> block_starts;   // latent frames
  std::vector<size_t> block_prompt;    // index into prompts for each block
};
LongPlan plan_long(const SanaVideoPipeline& pipe, const LongGenerateParams& p);
// VideoPipeline::check_fits for a long video: one block per forward, no CFG batch.
void check_long_fits(const Context& ctx, const SanaVideoPipeline& pipe, const LongGenerateParams& p, bool decode);
// The earliest schedule time (whole frames at fps) whose prompt takes effect at block b: a change made
// at block b equals a schedule entry at this time.
double block_start_seconds(const LongPlan& plan, size_t b, int fps, int64_t ft);

// Streams frames through cb.on_frames block by block; stage "block" counts finished blocks.
GenerateResult generate_long(Context& ctx, const SanaVideoPipeline& pipe, const LongGenerateParams& p,
                             const GenerateCallbacks& cb);

// The LongSANA sampler parameters of a LongLive checkpoint: longsana/scheduler/scheduler_config.json
// ("shift" or "flow_shift", optional "denoising_step_list"), else the official defaults.
sampling::LongLiveSchedule long_schedule_for(const SanaVideoPipeline& pipe);

// "SECONDS:PROMPT" (a --prompt-at value) -> segment; a clear error otherwise.
PromptSegment parse_prompt_at(const std::string& spec);
// A schedule file: one "SECONDS<whitespace or ':'>PROMPT" per line; blank lines and # comments skipped.
std::vector<PromptSegment> read_prompt_schedule(const std::string& path);

}  // namespace sv::pipeline
