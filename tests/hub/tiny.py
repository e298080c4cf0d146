"""Tiny random-config models of every hub backend, saved the way users' local weights are.

Nothing is downloaded: tokenizers are built from files that ship in installed packages
(open_clip's CLIP BPE vocabulary) or from a small word list; models get random weights
(seeded) and are written with ``save_pretrained`` / ``torch.save`` / open_clip's folder
layout, so the tests load them through the same code a user's real weights take.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# words for the tiny BERT tokenizer of Grounding DINO (covers the test prompts)
GD_WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    ".",
    ",",
    "'",
    "a",
    "an",
    "the",
    "of",
    "with",
    "face",
    "human",
    "person",
    "s",
    "license",
    "plate",
    "car",
    "number",
    "vehicle",
    "registration",
    "text",
    "sign",
    "document",
    "writing",
    "words",
    "screen",
    "computer",
    "phone",
    "monitor",
    "television",
    "body",
    "pedestrian",
]


def clip_tokenizer(model_max_length: int = 77):
    """A transformers ``CLIPTokenizer`` with the real CLIP BPE vocabulary (from open_clip)."""
    import open_clip
    from open_clip.tokenizer import bytes_to_unicode
    from transformers import CLIPTokenizer

    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    pairs = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(p) for p in pairs] + ["<|startoftext|>", "<|endoftext|>"]
    ids = {v: i for i, v in enumerate(vocab)}
    try:  # transformers >= 5: vocab / merges objects
        return CLIPTokenizer(vocab=ids, merges=pairs, model_max_length=model_max_length)
    except TypeError:  # transformers 4: files
        import tempfile

        d = Path(tempfile.mkdtemp())
        (d / "vocab.json").write_text(json.dumps(ids))
        (d / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        return CLIPTokenizer(str(d / "vocab.json"), str(d / "merges.txt"), model_max_length=model_max_length)


def make_owlv2(folder: Path) -> Path:
    from transformers import Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor

    torch.manual_seed(0)
    cfg = Owlv2Config(
        text_config=dict(
            vocab_size=49408,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=16,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=64,
            patch_size=16,
        ),
        projection_dim=32,  # must equal the text hidden size
    )
    model = Owlv2ForObjectDetection(cfg).eval()
    with torch.no_grad():  # random box heads saturate the sigmoid; start near the grid prior boxes
        model.box_head.dense2.weight.mul_(0.01)
        model.box_head.dense2.bias.zero_()
    model.save_pretrained(folder)
    Owlv2Processor(
        image_processor=Owlv2ImageProcessor(size={"height": 64, "width": 64}), tokenizer=clip_tokenizer(16)
    ).save_pretrained(folder)
    return folder


def make_grounding_dino(folder: Path) -> Path:
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    torch.manual_seed(0)
    cfg = GroundingDinoConfig(
        backbone_config=SwinConfig(
            embed_dim=16,
            depths=[1, 1, 1, 1],
            num_heads=[1, 1, 1, 1],
            window_size=2,
            image_size=64,
            out_features=["stage2", "stage3", "stage4"],
        ),
        text_config=BertConfig(
            vocab_size=len(GD_WORDS),
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=37,
            max_position_embeddings=64,
        ),
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        num_queries=20,
        num_feature_levels=3,
        max_text_len=32,
        encoder_n_points=2,
        decoder_n_points=2,
    )
    GroundingDinoForObjectDetection(cfg).eval().save_pretrained(folder)
    ids = {w: i for i, w in enumerate(GD_WORDS)}
    try:
        tok = BertTokenizer(vocab=ids)
    except TypeError:  # transformers 4
        (folder / "vocab.txt").write_text("\n".join(GD_WORDS) + "\n")
        tok = BertTokenizer(str(folder / "vocab.txt"))
    ip = GroundingDinoImageProcessor(size={"shortest_edge": 64, "longest_edge": 96})
    GroundingDinoProcessor(image_processor=ip, tokenizer=tok).save_pretrained(folder)
    return folder


def make_sam_hf(folder: Path) -> Path:
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    torch.manual_seed(0)
    cfg = SamConfig(
        vision_config=dict(
            hidden_size=32,
            output_channels=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=64,
            patch_size=16,
            window_size=2,
            global_attn_indexes=[1],
            num_pos_feats=16,
            mlp_dim=64,
        ),
        prompt_encoder_config=dict(hidden_size=32, image_size=64, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(
            hidden_size=32, mlp_dim=64, num_hidden_layers=2, num_attention_heads=2, iou_head_hidden_dim=32
        ),
    )
    SamModel(cfg).eval().save_pretrained(folder)
    ip = SamImageProcessor(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64})
    SamProcessor(image_processor=ip).save_pretrained(folder)
    return folder


#: a small segment-anything architecture (ViT with 2 windowed + 1 global block, 64 px input)
TINY_SAM_ARCH = {
    "img_size": 64,
    "patch_size": 16,
    "embed_dim": 32,
    "depth": 3,
    "num_heads": 2,
    "mlp_ratio": 2.0,
    "qkv_bias": True,
    "use_rel_pos": True,
    "window_size": 2,
    "global_attn_indexes": (2,),
    "out_chans": 32,
    "mask_in_chans": 8,
    "decoder_depth": 2,
    "decoder_mlp_dim": 64,
    "attention_downsample_rate": 2,
    "num_multimask_outputs": 3,
    "iou_head_depth": 3,
    "iou_head_hidden_dim": 32,
}


def make_sam_checkpoint(path: Path) -> Path:
    """A segment-anything checkpoint (state dict, ``torch.save``) of a tiny ``Sam``."""
    from vlm_privsc.guard.sam import build_sam

    torch.manual_seed(0)
    sam = build_sam(TINY_SAM_ARCH, decoder_heads=8)
    # SAM zero-initialises its relative positions; random values exercise the loader better
    with torch.no_grad():
        for n, p in sam.named_parameters():
            if "rel_pos" in n:
                p.normal_(0, 0.02)
    torch.save(sam.state_dict(), path)
    return path


TINY_CLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def make_open_clip(folder: Path) -> Path:
    """An open_clip model folder (``open_clip_config.json`` + ``open_clip_model.safetensors``)."""
    from open_clip.model import CLIP
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = CLIP(**TINY_CLIP_CFG)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP_CFG, "preprocess_cfg": {}}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return folder


def make_sd_inpaint(folder: Path) -> Path:
    """A whole StableDiffusionInpaintPipeline: tiny UNet (9 input channels), VAE, CLIP text
    encoder (32-wide, 77 tokens), DDIM; native resolution 64 (sample_size 32 x vae factor 2)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=9,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=(2, 4),
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        sample_size=64,
        norm_num_groups=8,
        layers_per_block=1,
    )
    te = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=49408,
            max_position_embeddings=77,
            projection_dim=32,
        )
    )
    sch = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionInpaintPipeline(
        vae=vae,
        text_encoder=te,
        tokenizer=clip_tokenizer(77),
        unet=unet,
        scheduler=sch,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder
