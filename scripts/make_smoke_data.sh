#!/usr/bin/env bash
# What the sweeps' `smoke:` settings read: a small phantom cohort and seeded stand-ins for the
# published weights (torchvision ImageNet layout; Merlin's, VISTA3D's and CT-CLIP's checkpoint
# layouts), made by vfp itself, nothing downloaded. Usage: scripts/make_smoke_data.sh [VFP] [DIR]
#   VFP defaults to build/release/runner/vfp, DIR to data/smoke (what sweeps/*.yaml name).
# Then: mpirun -np 3 vfp run sweeps/<file>.yaml --smoke   (results in results/<name>-smoke)
set -euo pipefail
vfp=${1:-build/release/runner/vfp}
dir=${2:-data/smoke}
if [ ! -f "$dir/cohort.csv" ]; then
  "$vfp" synth --subjects 40 --event-rate 0.3 --seed 3 --out "$dir"
fi
# BYOL's external pretraining cohort (ssl.cohort of sweeps/ssl_3d.yaml): no outcomes, a
# centroid for every vertebra T10–L4 of each scan.
if [ ! -f "$dir/unlabelled/cohort.csv" ]; then
  "$vfp" synth --unlabelled --subjects 6 --seed 4 --out "$dir/unlabelled"
fi
mkdir -p "$dir/weights"
save() { # file, then vfp models options
  local file=$dir/weights/$1
  shift
  [ -f "$file" ] || "$vfp" models --save "$file" "$@"
}
# ImageNet: torchvision's 2D layout (3 input channels, 1000 classes).
for arch in resnet18 resnet50 resnet152 densenet121; do
  save "${arch}_imagenet.safetensors" --arch "$arch" --dims 2 --in-channels 3 --outputs 1000 --seed 1
done
# Merlin: its image encoder under encode_image.i3_resnet., as the published checkpoint.
save merlin_ct_reports.safetensors --arch merlin_resnet152 --dims 3 --in-channels 3 --outputs 1 \
  --seed 2 --prefix encode_image.i3_resnet.
# VISTA3D and CT-CLIP: tiny encoders at the sizes of the sweeps' smoke: settings, under their
# checkpoints' prefixes (image_encoder.encoder., visual_transformer.), for their key maps.
save vista3d_model.safetensors --arch vista3d_segresnet --dims 3 --in-channels 1 --outputs 1 \
  --seed 5 --prefix image_encoder.encoder. --size model.segresnet.init_filters=4
save ctclip_v2.safetensors --arch ctclip_vit --dims 3 --in-channels 1 --outputs 1 --seed 6 \
  --prefix visual_transformer. --size model.vit.patch_size=4 --size model.vit.temporal_patch_size=4 \
  --size model.vit.dim=32 --size model.vit.spatial_depth=1 --size model.vit.temporal_depth=1 \
  --size model.vit.heads=2 --size model.vit.dim_head=16
