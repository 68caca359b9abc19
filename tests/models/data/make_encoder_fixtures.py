#!/usr/bin/python3
"""Writes the checkpoint-key fixtures of the three CT foundation encoders and prints the
reference parameter counts that tests/models/encoders_test.cpp checks.

Run with Debian's python3 (torch 1.13, torchvision 0.14): /usr/bin/python3 make_encoder_fixtures.py
It needs neither network nor the projects' packages: the modules below transcribe, layer for
layer and name for name, the constructors of

  Merlin   github.com/StanfordMIMI/Merlin  merlin/models/{inflate.py, i3res.py, build.py, load.py}
  VISTA3D  github.com/Project-MONAI/MONAI  monai/networks/nets/{segresnet_ds.py, vista3d.py}
           (vista3d132(), as the model-zoo bundle "vista3d" builds it in configs/*.json)
  CT-CLIP  github.com/ibrahimethemhamamci/CT-CLIP  src/ct_clip/transformer_maskgit/{ctvit.py,
           attention.py}, src/ct_clip/ct_clip/ct_clip.py, scripts/run_zero_shot.py

and write `state_dict()` names and shapes. The text towers (Hugging Face models) are written
from their configurations instead, since `transformers` is not installed here.
"""
import copy
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, header, entries):
    path = os.path.join(HERE, name)
    with open(path, "w") as f:
        for line in header.strip("\n").split("\n"):
            f.write(("# " + line).rstrip() + "\n")
        for key, shape in entries:
            f.write(" ".join([key] + [str(int(s)) for s in shape]) + "\n")
    print(f"wrote {path}: {len(entries)} keys")


def state_entries(module, prefix):
    return [(prefix + k, tuple(v.shape)) for k, v in module.state_dict().items()]


def count(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------------
# Merlin: merlin/models/inflate.py and i3res.py (I3ResNet(resnet152, class_nb=1692,
# conv_class=True)), wrapped as build.py's MerlinArchitecture.encode_image.i3_resnet.


def inflate_conv(conv2d, time_dim=3, time_padding=0, time_stride=1, time_dilation=1,
                 center=False):
    kernel_dim = (time_dim, conv2d.kernel_size[0], conv2d.kernel_size[1])
    padding = (time_padding, conv2d.padding[0], conv2d.padding[1])
    stride = (time_stride, conv2d.stride[0], conv2d.stride[0])
    dilation = (time_dilation, conv2d.dilation[0], conv2d.dilation[1])
    conv3d = nn.Conv3d(conv2d.in_channels, conv2d.out_channels, kernel_dim, padding=padding,
                       dilation=dilation, stride=stride)
    weight_2d = conv2d.weight.data
    if center:
        weight_3d = torch.zeros(*weight_2d.shape).unsqueeze(2).repeat(1, 1, time_dim, 1, 1)
        weight_3d[:, :, time_dim // 2] = weight_2d
    else:
        weight_3d = weight_2d.unsqueeze(2).repeat(1, 1, time_dim, 1, 1) / time_dim
    conv3d.weight = nn.Parameter(weight_3d)
    conv3d.bias = conv2d.bias  # None for torchvision's ResNets: no bias key
    return conv3d


def inflate_pool(pool2d, time_dim=1, time_padding=0, time_stride=None, time_dilation=1):
    if isinstance(pool2d, nn.AdaptiveAvgPool2d):
        return nn.AdaptiveAvgPool3d((1, 1, 1))
    if time_stride is None:
        time_stride = time_dim
    return nn.MaxPool3d((time_dim, pool2d.kernel_size, pool2d.kernel_size),
                        padding=(time_padding, pool2d.padding, pool2d.padding),
                        dilation=(time_dilation, pool2d.dilation, pool2d.dilation),
                        stride=(time_stride, pool2d.stride, pool2d.stride),
                        ceil_mode=pool2d.ceil_mode)


class Bottleneck3d(nn.Module):
    def __init__(self, b2):
        super().__init__()
        spatial_stride = b2.conv2.stride[0]
        self.conv1 = inflate_conv(b2.conv1, time_dim=1, center=True)
        self.bn1 = b2.bn1  # inflate_batch_norm returns the 2D module
        self.conv2 = inflate_conv(b2.conv2, time_dim=3, time_padding=1,
                                  time_stride=spatial_stride, center=True)
        self.bn2 = b2.bn2
        self.conv3 = inflate_conv(b2.conv3, time_dim=1, center=True)
        self.bn3 = b2.bn3
        self.relu = nn.ReLU(inplace=True)
        if b2.downsample is not None:
            self.downsample = nn.Sequential(
                inflate_conv(b2.downsample[0], time_dim=1, time_stride=spatial_stride,
                             center=True), b2.downsample[1])
        else:
            self.downsample = None


class I3ResNet(nn.Module):
    def __init__(self, resnet2d, class_nb=1692):
        super().__init__()
        self.conv1 = inflate_conv(resnet2d.conv1, time_dim=3, time_padding=1, center=True)
        self.bn1 = resnet2d.bn1
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = inflate_pool(resnet2d.maxpool, time_dim=3, time_padding=1, time_stride=2)
        for i in range(1, 5):
            setattr(self, f"layer{i}",
                    nn.Sequential(*[Bottleneck3d(b) for b in getattr(resnet2d, f"layer{i}")]))
        self.avgpool = inflate_pool(resnet2d.avgpool, time_dim=1)
        self.classifier = nn.Conv3d(2048, class_nb, kernel_size=(1, 1, 1), bias=True)
        self.contrastive_head = nn.Conv3d(2048, 512, kernel_size=(1, 1, 1), bias=True)


def longformer_entries(prefix):
    # yikuan8/Clinical-Longformer (LongformerModel): vocab 50265, hidden 768, 12 layers,
    # intermediate 3072, max_position_embeddings 4098, type_vocab_size 1, with the pooler.
    h, out = 768, []
    out += [(prefix + "embeddings.position_ids", (1, 4098)),
            (prefix + "embeddings.word_embeddings.weight", (50265, h)),
            (prefix + "embeddings.position_embeddings.weight", (4098, h)),
            (prefix + "embeddings.token_type_embeddings.weight", (1, h)),
            (prefix + "embeddings.LayerNorm.weight", (h,)),
            (prefix + "embeddings.LayerNorm.bias", (h,))]
    for i in range(12):
        p = f"{prefix}encoder.layer.{i}."
        for name in ["query", "key", "value", "query_global", "key_global", "value_global"]:
            out += [(p + f"attention.self.{name}.weight", (h, h)),
                    (p + f"attention.self.{name}.bias", (h,))]
        out += [(p + "attention.output.dense.weight", (h, h)),
                (p + "attention.output.dense.bias", (h,)),
                (p + "attention.output.LayerNorm.weight", (h,)),
                (p + "attention.output.LayerNorm.bias", (h,)),
                (p + "intermediate.dense.weight", (3072, h)),
                (p + "intermediate.dense.bias", (3072,)),
                (p + "output.dense.weight", (h, 3072)),
                (p + "output.dense.bias", (h,)),
                (p + "output.LayerNorm.weight", (h,)),
                (p + "output.LayerNorm.bias", (h,))]
    out += [(prefix + "pooler.dense.weight", (h, h)), (prefix + "pooler.dense.bias", (h,))]
    return out


def merlin():
    net = I3ResNet(copy.deepcopy(torchvision.models.resnet152()))
    print("Merlin stem:", net.conv1, "\nMerlin maxpool:", net.maxpool)
    b = net.layer2[0]
    print("Merlin layer2.0:", b.conv1, b.conv2, b.conv3, b.downsample[0], sep="\n  ")
    entries = state_entries(net, "encode_image.i3_resnet.")
    entries += longformer_entries("encode_text.text_encoder.")
    entries += [("encode_text.linear_layer.weight", (512, 768)),
                ("encode_text.linear_layer.bias", (512,)), ("logit_scale", ())]
    heads = count(net.classifier) + count(net.contrastive_head)
    encoder3 = count(net) - heads  # 3 input channels, as their checkpoint
    conv1_per_channel = 64 * 3 * 7 * 7
    print("Merlin encoder, 3 input channels:", encoder3)
    print("  + linear head 2048 -> 1:", encoder3 + 2049)
    print("  1 input channel, head 2048 -> 1:", encoder3 - 2 * conv1_per_channel + 2049)
    write("merlin_checkpoint_keys.txt", MERLIN_HEADER, entries)


MERLIN_HEADER = """
Merlin (Stanford MIMI) checkpoint keys and shapes: `key dim...`, one per line.
Checkpoint: huggingface.co/stanfordmimi/Merlin,
i3_resnet_clinical_longformer_best_clip_04-02-2024_23-21-36_epoch_99.pt, which
merlin/models/load.py loads strictly (load_state_dict) into build.py's MerlinArchitecture:
encode_image.i3_resnet = i3res.I3ResNet(torchvision resnet152, class_nb=1692, conv_class=True),
encode_text = Clinical-Longformer + linear_layer (768 -> 512), logit_scale.
Derived by tests/models/data/make_encoder_fixtures.py, which transcribes inflate.py/i3res.py
(github.com/StanfordMIMI/Merlin, merlin/models; read from verbatim copies of those files in
other public repositories, several agreeing, as the search index holds no commit of Merlin's
own merlin/models/i3res.py) and applies them to torchvision 0.14's
resnet152: conv1 (3, 7, 7) stride (1, 2, 2) padding (1, 3, 3); maxpool 3x3x3 stride 2
padding 1; bottleneck conv1/conv3 1x1x1, conv2 3x3x3 with the block's stride on every axis
and padding 1; downsample 1x1x1 with that stride; conv weights without bias; batch norms
with running statistics. classifier [1692, 2048, 1, 1, 1] and contrastive_head
[512, 2048, 1, 1, 1] are their heads. The text tower (encode_text.text_encoder.*) is written
from the Clinical-Longformer configuration (12 layers, hidden 768, vocab 50265, 4098
positions); whether embeddings.position_ids is stored depends on their transformers
version. All encode_text.* keys and logit_scale are dropped by lib/models/key_maps/merlin.keymap.
"""

# ---------------------------------------------------------------------------------------
# VISTA3D: monai/networks/nets/segresnet_ds.py (SegResEncoder, SegResNetDS2) and vista3d.py
# (vista3d132: PointMappingSAM, ClassMappingClassify), with MONAI's blocks transcribed.


def instance_norm(c):  # get_norm_layer(("instance", {"affine": True}), 3, c)
    return nn.InstanceNorm3d(c, affine=True)


class SegResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = instance_norm(c)
        self.act1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv3d(c, c, 3, stride=1, padding=1, bias=False)
        self.norm2 = instance_norm(c)
        self.act2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv3d(c, c, 3, stride=1, padding=1, bias=False)


class SegResEncoder(nn.Module):
    def __init__(self, init_filters=48, in_channels=1, blocks_down=(1, 2, 2, 4, 4)):
        super().__init__()
        filters = init_filters
        self.conv_init = nn.Conv3d(in_channels, filters, 3, padding=1, stride=1, bias=False)
        self.layers = nn.ModuleList()
        for i in range(len(blocks_down)):
            level = nn.ModuleDict()
            level["blocks"] = nn.Sequential(*[SegResBlock(filters) for _ in range(blocks_down[i])])
            if i < len(blocks_down) - 1:
                level["downsample"] = nn.Conv3d(filters, 2 * filters, 3, stride=2, padding=1,
                                                bias=False)
            else:
                level["downsample"] = nn.Identity()
            self.layers.append(level)
            filters *= 2


class UpSample(nn.Sequential):  # monai.networks.blocks.UpSample, mode "deconv", kernel 3
    def __init__(self, cin, cout):
        super().__init__()
        self.add_module("deconv", nn.ConvTranspose3d(cin, cout, 3, stride=2, padding=1,
                                                     output_padding=1, bias=False))


class SegResNetDS2(nn.Module):
    def __init__(self, init_filters=48, in_channels=1, out_channels=48,
                 blocks_down=(1, 2, 2, 4, 4), dsdepth=1):
        super().__init__()
        self.encoder = SegResEncoder(init_filters, in_channels, blocks_down)
        n_up = len(blocks_down) - 1
        blocks_up = (1,) * n_up
        filters = init_filters * 2 ** n_up
        self.up_layers = nn.ModuleList()
        for i in range(n_up):
            filters = filters // 2
            level = nn.ModuleDict()
            level["upsample"] = UpSample(2 * filters, filters)
            level["blocks"] = nn.Sequential(*[SegResBlock(filters) for _ in range(blocks_up[i])])
            if len(blocks_up) - i <= dsdepth:
                level["head"] = nn.Conv3d(filters, out_channels, kernel_size=1, bias=True)
            else:
                level["head"] = nn.Identity()
            self.up_layers.append(level)
        self.up_layers_auto = nn.ModuleList([copy.deepcopy(l) for l in self.up_layers])


class ConvOnly(nn.Sequential):  # monai Convolution(conv_only=True): child "conv"
    def __init__(self, c):
        super().__init__()
        self.add_module("conv", nn.Conv3d(c, c, 3, stride=1, padding=1, bias=False))


class UnetResBlock(nn.Module):  # in == out, stride 1: no conv3/norm3
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvOnly(c)
        self.conv2 = ConvOnly(c)
        self.lrelu = nn.LeakyReLU(0.01, inplace=True)
        self.norm1 = nn.InstanceNorm3d(c)  # norm_name "instance": affine False
        self.norm2 = nn.InstanceNorm3d(c)


class UnetrBasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = UnetResBlock(c)


class ClassMappingClassify(nn.Module):
    def __init__(self, n_classes=512, feature_size=48):
        super().__init__()
        f = feature_size
        self.mlp = nn.Sequential(nn.Linear(f, f), nn.InstanceNorm1d(1), nn.GELU(), nn.Linear(f, f))
        self.class_embeddings = nn.Embedding(n_classes, f)
        self.image_post_mapping = nn.Sequential(UnetrBasicBlock(f), UnetrBasicBlock(f))


class SamAttention(nn.Module):
    def __init__(self, dim, heads, downsample_rate=1):
        super().__init__()
        internal = dim // downsample_rate
        self.q_proj = nn.Linear(dim, internal)
        self.k_proj = nn.Linear(dim, internal)
        self.v_proj = nn.Linear(dim, internal)
        self.out_proj = nn.Linear(internal, dim)


class MLPBlock(nn.Module):  # monai.networks.blocks.MLPBlock, act "relu"
    def __init__(self, hidden, mlp_dim):
        super().__init__()
        self.linear1 = nn.Linear(hidden, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, hidden)


class TwoWayAttentionBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.self_attn = SamAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = SamAttention(dim, heads, 2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = SamAttention(dim, heads, 2)


class TwoWayTransformer(nn.Module):
    def __init__(self, depth, dim, heads, mlp_dim):
        super().__init__()
        self.layers = nn.ModuleList([TwoWayAttentionBlock(dim, heads, mlp_dim)
                                     for _ in range(depth)])
        self.final_attn_token_to_image = SamAttention(dim, heads, 2)
        self.norm_final_attn = nn.LayerNorm(dim)


class PositionEmbeddingRandom(nn.Module):
    def __init__(self, num_pos_feats):
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((3, num_pos_feats)))


class SamMLP(nn.Module):
    def __init__(self, din, dh, dout, n):
        super().__init__()
        h = [dh] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip([din] + h, h + [dout]))


class PointMappingSAM(nn.Module):
    def __init__(self, feature_size=48, n_classes=512):
        super().__init__()
        f = feature_size
        self.feat_downsample = nn.Sequential(
            nn.Conv3d(f, f, 3, stride=2, padding=1), nn.InstanceNorm3d(f), nn.GELU(),
            nn.Conv3d(f, f, 3, stride=1, padding=1), nn.InstanceNorm3d(f))
        self.mask_downsample = nn.Conv3d(2, 2, 3, stride=2, padding=1)
        self.transformer = TwoWayTransformer(2, f, 4, 512)
        self.pe_layer = PositionEmbeddingRandom(f // 2)
        self.point_embeddings = nn.ModuleList([nn.Embedding(1, f), nn.Embedding(1, f)])
        self.not_a_point_embed = nn.Embedding(1, f)
        self.special_class_embed = nn.Embedding(1, f)
        self.mask_tokens = nn.Embedding(1, f)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose3d(f, f, 3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm3d(f), nn.GELU(), nn.Conv3d(f, f, 3, stride=1, padding=1))
        self.output_hypernetworks_mlps = SamMLP(f, f, f, 3)
        self.class_embeddings = nn.Embedding(n_classes, f)
        self.zeroshot_embed = nn.Embedding(1, f)
        self.supported_embed = nn.Embedding(1, f)


class VISTA3D(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_encoder = SegResNetDS2()
        self.class_head = ClassMappingClassify()
        self.point_head = PointMappingSAM()


def vista3d():
    net = VISTA3D()
    encoder = count(net.image_encoder.encoder)
    print("VISTA3D encoder (SegResEncoder, 1 channel):", encoder)
    print("  + linear head 768 -> 1:", encoder + 769)
    print("  whole vista3d132:", count(net))
    write("vista3d_checkpoint_keys.txt", VISTA3D_HEADER, state_entries(net, ""))


VISTA3D_HEADER = """
VISTA3D checkpoint keys and shapes: `key dim...`, one per line.
Checkpoint: models/model.pt of the MONAI model-zoo bundle "vista3d" (also on Hugging Face),
written by ignite's CheckpointSaver from a single network (the state dict at top level) and
loaded by the bundle (configs/inference.json) into monai.networks.nets.vista3d132(in_channels=1):
image_encoder = SegResNetDS2(blocks_down=(1, 2, 2, 4, 4), norm="instance", init_filters=48,
out_channels=48, dsdepth=1), class_head = ClassMappingClassify(512, 48, use_mlp=True),
point_head = PointMappingSAM(48, n_classes=512, last_supported=132).
Derived by tests/models/data/make_encoder_fixtures.py, which transcribes those constructors from
github.com/Project-MONAI/MONAI monai/networks/nets/segresnet_ds.py and vista3d.py (and the
blocks they use: UpSample "deconv" with kernel 3, UnetrBasicBlock/UnetResBlock, MLPBlock):
the encoder is conv_init 3x3x3 (1 -> 48, no bias), then five levels of pre-activation residual
blocks (instance norm with affine weight/bias and no running statistics, ReLU, 3x3x3 conv
without bias, twice) with 48, 96, 192, 384, 768 channels, each but the last followed by a
3x3x3 stride-2 conv doubling the channels. image_encoder.up_layers*, class_head.* and
point_head.* (the decoders and prompt heads) are dropped by lib/models/key_maps/vista3d.keymap.
"""

# ---------------------------------------------------------------------------------------
# CT-CLIP: transformer_maskgit/attention.py and ctvit.py (CTViT as run_zero_shot.py builds it:
# dim 512, codebook 8192, image 480, patch 20, temporal patch 10, depths 4 and 4, dim_head 32,
# heads 8), in ct_clip.py's CTCLIP as visual_transformer.


class BiasFreeLayerNorm(nn.Module):  # attention.py LayerNorm: gamma parameter, beta buffer
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))
        self.register_buffer("beta", torch.zeros(dim))

    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], self.gamma, self.beta)


class GEGLU(nn.Module):
    def forward(self, x):
        x, gate = x.chunk(2, dim=-1)
        return F.gelu(gate) * x


def feed_forward(dim, mult=4):
    inner = int(mult * (2 / 3) * dim)
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, inner * 2, bias=False), GEGLU(),
                         nn.Dropout(0.), nn.Linear(inner, dim, bias=False))


class PEG(nn.Module):  # causal = True, as CTViT's transformers use it
    def __init__(self, dim):
        super().__init__()
        self.dsconv = nn.Conv3d(dim, dim, 3, groups=dim)

    def forward(self, x, shape):
        orig_shape = x.shape
        x = x.reshape(*shape, -1)  # needs_shape: x is [batch, tokens, dim]
        x = x.permute(0, 4, 1, 2, 3)  # 'b ... d -> b d ...'
        x = F.pad(x, (1, 1, 1, 1, 2, 0), value=0.)
        x = self.dsconv(x)
        x = x.permute(0, 2, 3, 4, 1)  # 'b d ... -> b ... d'
        x = x.reshape(x.shape[0], -1, x.shape[-1])  # 'b ... d -> b (...) d'
        return x.reshape(orig_shape)


class CtAttention(nn.Module):
    def __init__(self, dim, dim_head, heads, num_null_kv=0):
        super().__init__()
        inner = dim_head * heads
        self.attn_dropout = nn.Dropout(0.)
        self.norm = BiasFreeLayerNorm(dim)
        self.context_norm = BiasFreeLayerNorm(dim)
        self.null_kv = nn.Parameter(torch.randn(heads, 2 * num_null_kv, dim_head))
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.q_scale = nn.Parameter(torch.ones(dim_head))
        self.k_scale = nn.Parameter(torch.ones(dim_head))
        self.to_out = nn.Linear(inner, dim, bias=False)
        self.heads, self.scale, self.num_null_kv = heads, 8, num_null_kv

    def forward(self, x, attn_bias=None):
        batch = x.shape[0]
        kv_input = x  # default(context, x), taken before the norm
        x = self.norm(x)
        q, k, v = self.to_q(x), *self.to_kv(kv_input).chunk(2, dim=-1)
        q, k, v = [t.reshape(t.shape[0], t.shape[1], self.heads, -1).transpose(1, 2)
                   for t in (q, k, v)]  # 'b n (h d) -> b h n d'
        nk, nv = self.null_kv.reshape(self.heads, -1, 2, self.null_kv.shape[-1]).unsqueeze(0) \
            .expand(batch, -1, -1, -1, -1).unbind(dim=-2)  # 'h (n r) d -> b h n r d'
        k = torch.cat((nk, k), dim=-2)
        v = torch.cat((nv, v), dim=-2)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        q = q * self.q_scale
        k = k * self.k_scale
        sim = torch.einsum('b h i d, b h j d -> b h i j', q, k) * self.scale
        if attn_bias is not None:
            sim = sim + F.pad(attn_bias, (self.num_null_kv, 0), value=0.)
        attn = sim.softmax(dim=-1)
        out = torch.einsum('b h i j, b h j d -> b h i d', attn, v)
        out = out.transpose(1, 2).reshape(out.shape[0], out.shape[2], -1)  # 'b h n d -> b n (h d)'
        return self.to_out(out)


class CtTransformer(nn.Module):
    def __init__(self, dim, depth, dim_head, heads):
        super().__init__()
        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self.layers.append(nn.ModuleList([PEG(dim), CtAttention(dim, dim_head, heads), None,
                                              feed_forward(dim)]))
        self.norm_out = BiasFreeLayerNorm(dim)

    def forward(self, x, video_shape, attn_bias=None):
        for peg, self_attn, _, ff in self.layers:
            x = peg(x, shape=video_shape) + x
            x = self_attn(x, attn_bias=attn_bias) + x
            x = ff(x) + x
        return self.norm_out(x)


class ContinuousPositionBias(nn.Module):
    def __init__(self, dim, heads, num_dims=2, layers=2):
        super().__init__()
        self.net = nn.ModuleList([])
        self.net.append(nn.Sequential(nn.Linear(num_dims, dim), nn.LeakyReLU(0.1)))
        for _ in range(layers - 1):
            self.net.append(nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(0.1)))
        self.net.append(nn.Linear(dim, heads))

    def forward(self, *dimensions):
        positions = [torch.arange(d) for d in dimensions]
        grid = torch.stack(torch.meshgrid(*positions, indexing='ij'))
        grid = grid.reshape(grid.shape[0], -1).t()  # 'c ... -> (...) c'
        rel_pos = grid[:, None, :] - grid[None, :, :]
        rel_pos = torch.sign(rel_pos) * torch.log(rel_pos.abs() + 1)
        rel_pos = rel_pos.to(torch.float32)
        for layer in self.net:
            rel_pos = layer(rel_pos.float())
        return rel_pos.permute(2, 0, 1)  # 'i j h -> h i j'


class CosineSimCodebook(nn.Module):  # vector-quantize-pytorch 1.1.2, num_codebooks 1
    def __init__(self, dim, codebook_size):
        super().__init__()
        self.register_buffer("initted", torch.Tensor([True]))
        self.register_buffer("cluster_size", torch.zeros(1, codebook_size))
        self.register_buffer("embed", torch.zeros(1, codebook_size, dim))


class VectorQuantize(nn.Module):
    def __init__(self, dim, codebook_size):
        super().__init__()
        self.project_in = nn.Identity()
        self.project_out = nn.Identity()
        self._codebook = CosineSimCodebook(dim, codebook_size)


class CTViT(nn.Module):
    def __init__(self, dim, codebook_size, patch_size, temporal_patch_size, spatial_depth,
                 temporal_depth, dim_head, heads, channels=1):
        super().__init__()
        p, pt, c = patch_size, temporal_patch_size, channels
        self.spatial_rel_pos_bias = ContinuousPositionBias(dim=dim, heads=heads)
        self.to_patch_emb_first_frame = nn.Sequential(
            nn.Identity(), nn.LayerNorm(c * p * p), nn.Linear(c * p * p, dim), nn.LayerNorm(dim))
        self.to_patch_emb = nn.Sequential(
            nn.Identity(), nn.LayerNorm(c * pt * p * p), nn.Linear(c * pt * p * p, dim),
            nn.LayerNorm(dim))
        self.enc_spatial_transformer = CtTransformer(dim, spatial_depth, dim_head, heads)
        self.enc_temporal_transformer = CtTransformer(dim, temporal_depth, dim_head, heads)
        self.vq = VectorQuantize(dim, codebook_size)
        self.to_pixels_first_frame = nn.Sequential(nn.Linear(dim, c * p * p), nn.Identity())
        self.to_pixels = nn.Sequential(nn.Linear(dim, c * pt * p * p), nn.Identity())
        self.p, self.pt = p, pt

    def encode_video(self, video):
        """CTViT.forward(video, return_encoded_tokens=True) before the quantiser."""
        b, c, f, hh, ww = video.shape
        p, pt = self.p, self.pt
        t, h, w = f // pt, hh // p, ww // p
        x = video.reshape(b, c, t, pt, h, p, w, p).permute(0, 2, 4, 6, 1, 3, 5, 7)
        x = x.reshape(b, t, h, w, c * pt * p * p)  # 'b c (t pt) (h p1) (w p2) -> b t h w (c pt p1 p2)'
        for m in list(self.to_patch_emb)[1:]:
            x = m(x)
        video_shape = tuple(x.shape[:-1])
        d = x.shape[-1]
        x = x.reshape(b * t, h * w, d)
        attn_bias = self.spatial_rel_pos_bias(h, w)
        x = self.enc_spatial_transformer(x, video_shape, attn_bias=attn_bias)
        x = x.reshape(b, t, h, w, d).permute(0, 2, 3, 1, 4).reshape(b * h * w, t, d)
        x = self.enc_temporal_transformer(x, video_shape)
        return x.reshape(b, h, w, t, d).permute(0, 3, 1, 2, 4)

    def encoder_count(self):
        """Parameters of the path CT-CLIP runs (patch embedding, position bias, transformers),
        without the never-used context norms (null_kv is empty)."""
        n = sum(count(m) for m in [self.to_patch_emb, self.spatial_rel_pos_bias,
                                   self.enc_spatial_transformer, self.enc_temporal_transformer])
        for t in [self.enc_spatial_transformer, self.enc_temporal_transformer]:
            for layer in t.layers:
                n -= count(layer[1].context_norm)
        return n


def bert_entries(prefix):
    # microsoft/BiomedVLP-CXR-BERT-specialized loaded as transformers 4.30.1's BertModel: vocab
    # 30522, hidden 768, 12 layers, intermediate 3072, 512 positions, 2 token types, pooler;
    # position_ids is a persistent buffer in 4.30.
    h, out = 768, []
    out += [(prefix + "embeddings.position_ids", (1, 512)),
            (prefix + "embeddings.word_embeddings.weight", (30522, h)),
            (prefix + "embeddings.position_embeddings.weight", (512, h)),
            (prefix + "embeddings.token_type_embeddings.weight", (2, h)),
            (prefix + "embeddings.LayerNorm.weight", (h,)),
            (prefix + "embeddings.LayerNorm.bias", (h,))]
    for i in range(12):
        p = f"{prefix}encoder.layer.{i}."
        for name in ["query", "key", "value"]:
            out += [(p + f"attention.self.{name}.weight", (h, h)),
                    (p + f"attention.self.{name}.bias", (h,))]
        out += [(p + "attention.output.dense.weight", (h, h)),
                (p + "attention.output.dense.bias", (h,)),
                (p + "attention.output.LayerNorm.weight", (h,)),
                (p + "attention.output.LayerNorm.bias", (h,)),
                (p + "intermediate.dense.weight", (3072, h)),
                (p + "intermediate.dense.bias", (3072,)),
                (p + "output.dense.weight", (h, 3072)),
                (p + "output.dense.bias", (h,)),
                (p + "output.LayerNorm.weight", (h,)),
                (p + "output.LayerNorm.bias", (h,))]
    out += [(prefix + "pooler.dense.weight", (h, h)), (prefix + "pooler.dense.bias", (h,))]
    return out


def ctclip():
    vit = CTViT(dim=512, codebook_size=8192, patch_size=20, temporal_patch_size=10,
                spatial_depth=4, temporal_depth=4, dim_head=32, heads=8)
    n = vit.encoder_count()
    print("CT-CLIP CTViT encoder path:", n, " + linear head 512 -> 1:", n + 513)
    small = CTViT(dim=64, codebook_size=16, patch_size=8, temporal_patch_size=4, spatial_depth=2,
                  temporal_depth=2, dim_head=16, heads=4, channels=2)
    print("  vfp defaults (dim 64, patch 8x8x4, depths 2+2, 4 heads of 16), 2 channels, "
          "+ head 64 -> 3:", small.encoder_count() + 64 * 3 + 3)
    dim_image = 24 * 24 * 512  # run_zero_shot.py: dim_image=294912
    entries = [("temperature", ())]
    entries += bert_entries("text_transformer.")
    entries += state_entries(vit, "visual_transformer.")
    entries += [("to_text_latent.weight", (512, 768)),
                ("to_visual_latent.weight", (512, dim_image)),
                ("to_text_latent_extra.weight", (512, 768)),
                ("to_visual_latent_extra.weight", (512, dim_image))]
    write("ctclip_checkpoint_keys.txt", CTCLIP_HEADER, entries)


CTCLIP_HEADER = """
CT-CLIP checkpoint keys and shapes: `key dim...`, one per line.
Checkpoint: CT-CLIP_v2.pt (huggingface.co/datasets/ibrahimhamamci/CT-RATE, models/CT-CLIP-Related),
the state dict of ct_clip.py's CTCLIP, which scripts/run_zero_shot.py builds with
image_encoder = CTViT(dim=512, codebook_size=8192, image_size=480, patch_size=20,
temporal_patch_size=10, spatial_depth=4, temporal_depth=4, dim_head=32, heads=8),
text_encoder = BertModel microsoft/BiomedVLP-CXR-BERT-specialized, dim_image=294912,
dim_text=768, dim_latent=512, and loads with load_state_dict (strict).
Derived by tests/models/data/make_encoder_fixtures.py, which transcribes the constructors of
github.com/ibrahimethemhamamci/CT-CLIP src/ct_clip/transformer_maskgit/ctvit.py and attention.py
(commit 0544c3ac): Transformer layers are ModuleLists [PEG, Attention, None, FeedForward], so
their keys are layers.<i>.0 (PEG), .1 (attention), .3 (feed-forward). The vector quantiser's
buffers (vq._codebook.*) follow vector-quantize-pytorch 1.1.2 (their pinned version) as far as
can be read; the text tower is written from the CXR-BERT configuration (transformers 4.30.1).
vfp keeps the encoder path (to_patch_emb, spatial_rel_pos_bias, enc_spatial_transformer,
enc_temporal_transformer); lib/models/key_maps/ctclip.keymap drops the rest.
"""

def ctclip_golden():
    """A small CTViT with random weights (every scale, bias and norm perturbed), an input whose
    t, h, w differ, and the output of a 3-way linear head on the mean token: what vfp's
    ctclip_vit must reproduce after loading through ctclip.keymap."""
    torch.manual_seed(1)
    vit = CTViT(dim=32, codebook_size=16, patch_size=4, temporal_patch_size=2, spatial_depth=2,
                temporal_depth=2, dim_head=8, heads=2)
    with torch.no_grad():
        for name, t in vit.state_dict().items():
            if t.is_floating_point() and t.numel() > 0:
                t.copy_(torch.randn_like(t) * (0.5 if t.dim() > 1 else 0.3) +
                        (1.0 if name.endswith(("gamma", "scale", "1.weight", "3.weight")) and
                         t.dim() == 1 else 0.0))
    fc = nn.Linear(32, 3)
    video = torch.randn(2, 1, 6, 8, 12)  # t = 3, h = 2, w = 3
    with torch.no_grad():
        expected = fc(vit.encode_video(video).flatten(1, 3).mean(1))
    golden = {"visual_transformer." + k: v.clone() for k, v in vit.state_dict().items()}
    golden["fc.weight"], golden["fc.bias"] = fc.weight.detach().clone(), fc.bias.detach().clone()
    golden["input"], golden["expected"] = video, expected
    path = os.path.join(HERE, "ctclip_golden.pt")
    torch.save(golden, path)
    print(f"wrote {path}: expected {expected.tolist()}")


if __name__ == "__main__":
    torch.manual_seed(0)
    merlin()
    vista3d()
    ctclip()
    ctclip_golden()
    sys.exit(0)
