"""A tiny text-to-image pipeline with random weights, written with `save_pretrained` for the image role's tests.

No pretrained weights may be downloaded, and a real Stable Diffusion checkpoint is gigabytes; the image role
only needs a directory that `AutoPipelineForText2Image.from_pretrained` loads and that turns a prompt into
pixels. This one is a `StableDiffusionPipeline` of the smallest parts that still fit together: a two-block
UNet with one cross-attention block, a VAE that downsamples by 8 (so 64x64 pixels are 8x8 latents), a
one-layer CLIP text encoder, a CLIP tokenizer over a hand-written vocabulary (the letters, so any lowercase
word tokenizes, and a few merges) and a DDIM scheduler: about 600 KB on disk, and two 64x64 pictures in two
steps take a few tens of milliseconds on one CPU thread. Its pictures are noise, but reproducible noise: the
weights are drawn from a fixed seed, so two builds give the same directory contents and the same images.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

HIDDEN = 16  # the text encoder's width, which is the UNet's cross-attention width
MAX_TOKENS = 16
SPECIAL = ("<|startoftext|>", "<|endoftext|>")
MERGES = ("f o", "fo x</w>", "c a", "ca t</w>")


def _vocabulary() -> dict[str, int]:
    tokens = [*SPECIAL, *string.ascii_lowercase, *(f"{letter}</w>" for letter in string.ascii_lowercase),
              *("".join(merge.split()) for merge in MERGES)]
    return {token: index for index, token in enumerate(dict.fromkeys(tokens))}


def build_tiny_pipeline(directory: Path, seed: int = 0) -> Path:
    """Write the tiny pipeline to `directory` (created) and return it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here needs the hub; make sure nothing reaches it
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=HIDDEN, attention_head_dim=4, norm_num_groups=4)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
        block_out_channels=(8, 8, 16, 16), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, sample_size=64)
    vocabulary = _vocabulary()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(vocabulary), hidden_size=HIDDEN, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, max_position_embeddings=MAX_TOKENS, projection_dim=HIDDEN,
        bos_token_id=vocabulary[SPECIAL[0]], eos_token_id=vocabulary[SPECIAL[1]],
        pad_token_id=vocabulary[SPECIAL[1]]))
    tokenizer = CLIPTokenizer(vocab=vocabulary, merges=[tuple(merge.split()) for merge in MERGES],
                              model_max_length=MAX_TOKENS)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipeline = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                       scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
    directory.mkdir(parents=True, exist_ok=True)
    pipeline.save_pretrained(directory, safe_serialization=True)
    return directory
