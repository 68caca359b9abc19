// YAML keys → ExperimentConfig: each key through the key table, then the rules that tie keys
// together.
#include "config/key_table.h"
#include "config/yaml.h"

#include "core/core.h"

#include <algorithm>
#include <sstream>
#include <utility>

namespace vfp::config {
namespace {

/// Where a key was written, or the file's top when it was not.
const Located& where_of(const FlatConfig& flat, const std::string& key, const Located& top) {
  const auto it = flat.find(key);
  return it != flat.end() ? it->second : top;
}

/// `all` stands for every vertebra: with others beside it the list means nothing clear.
void check_vertebrae(const std::vector<std::string>& names, const std::string& key,
                     const FlatConfig& flat, const Located& top, detail::Problems& problems) {
  if (names.size() > 1 && std::find(names.begin(), names.end(), "all") != names.end())
    problems.add(where_of(flat, key, top), key,
                 "'all' (every vertebra the centroids label) stands alone in the list");
}

/// The external pretraining cohort (ssl.cohort) and ssl.data, which defaults to external when
/// the cohort is set. Pretraining on the labelled cohort beside an external one is refused:
/// which data BYOL saw must be one thing.
void resolve_ssl(ExperimentConfig& c, const FlatConfig& flat, const Located& top,
                 detail::Problems& problems) {
  const bool any_key = std::any_of(flat.begin(), flat.end(), [](const auto& kv) {
    return kv.first.rfind("ssl.cohort.", 0) == 0;
  });
  auto& cohort = c.ssl.cohort;
  if (any_key && cohort.images.empty())
    problems.add(top, "ssl.cohort",
                 "missing key 'ssl.cohort.dir' (or ssl.cohort.images and ssl.cohort.centroids)");
  else if (any_key && cohort.centroids.empty())
    problems.add(top, "ssl.cohort", "ssl.cohort.centroids is required with ssl.cohort.images");
  if (cohort.centroid_format != "csv" && !cohort.centroids.empty() &&
      cohort.centroids.find("{id}") == std::string::npos)
    problems.add(where_of(flat, "ssl.cohort.centroids", top), "ssl.cohort.centroids",
                 "a " + cohort.centroid_format +
                     " centroid source is one file per subject: the path needs {id}");
  // Without a table the subjects are the images of one folder: {id} names the file.
  const auto images = std::filesystem::path(cohort.images);
  if (cohort.csv.empty() && !cohort.images.empty() &&
      (images.filename().string().find("{id}") == std::string::npos ||
       images.parent_path().string().find("{id}") != std::string::npos))
    problems.add(where_of(flat, "ssl.cohort.images", top), "ssl.cohort.images",
                 "without ssl.cohort.csv the subjects are the entries of one folder, so {id} "
                 "must be in the last part of the pattern only (e.g. images/{id}.nii.gz); "
                 "give ssl.cohort.csv (a subject_id column) for other layouts");
  const bool data_given = flat.count("ssl.data") > 0;
  if (c.ssl.external() && !data_given)
    c.ssl.data = "external";
  else if (c.ssl.external() && c.ssl.data != "external")
    problems.add(flat.at("ssl.data"), "ssl.data",
                 "'" + c.ssl.data +
                     "' pretrains on the labelled cohort, but ssl.cohort names an external "
                     "one: use external (the default with ssl.cohort) or drop ssl.cohort");
  else if (!c.ssl.external() && c.ssl.data == "external" && !any_key)
    problems.add(where_of(flat, "ssl.data", top), "ssl.data",
                 "external needs ssl.cohort (ssl.cohort.dir, or ssl.cohort.images and "
                 "ssl.cohort.centroids)");
  if (flat.count("ssl.vertebrae") && !c.ssl.external() && !any_key)
    problems.add(flat.at("ssl.vertebrae"), "ssl.vertebrae",
                 "names the external cohort's vertebrae: it needs ssl.cohort");
  check_vertebrae(c.ssl.vertebrae, "ssl.vertebrae", flat, top, problems);
  check_vertebrae(c.preprocess.vertebrae, "preprocess.vertebrae", flat, top, problems);
}

/// CTViT cuts each cube into temporal_patch_size × patch_size × patch_size patches: both must
/// divide the cube's edge, else torch would stop the task with a shape error mid-sweep.
void check_vit_patches(const ExperimentConfig& c, const FlatConfig& flat, const Located& top,
                       detail::Problems& problems) {
  if (c.model.arch != "ctclip_vit" || c.preprocess.output != "3d")
    return;
  const auto& p = c.preprocess;
  const int edge = p.cube_voxels();
  std::ostringstream source;
  if (p.patch_voxels > 0)
    source << "preprocess.patch_voxels";
  else
    source << "preprocess.patch_mm " << p.patch_mm << " / spacing_mm " << p.spacing_mm;
  const std::pair<std::string, int> sizes[] = {
      {"model.vit.patch_size", c.model.vit.patch_size},
      {"model.vit.temporal_patch_size", c.model.vit.temporal_patch_size}};
  for (const auto& [key, size] : sizes) {
    if (edge % size == 0)
      continue;
    const bool given = flat.count(key) > 0;
    problems.add(given ? flat.at(key) : where_of(flat, "model.arch", top), key,
                 std::to_string(size) + (given ? "" : " (the default)") +
                     " does not divide the patch's edge of " + std::to_string(edge) +
                     " voxels (" + source.str() +
                     "): CTViT cuts the cube into temporal_patch_size × patch_size × "
                     "patch_size patches");
  }
}

} // namespace

bool is_3d_only(const std::string& arch) {
  // The registry's Architecture::dims, mirrored here because config stays torch-free.
  return arch == "monai_seresnet50" || arch == "monai_seresnext50" || arch == "monai_resnet18" ||
         arch == "monai_resnet50" || arch == "merlin_resnet152" || arch == "ctclip_vit";
}

const std::vector<std::string>& model_architectures() {
  static const std::vector<std::string> names{
      "fnet",           "resnet18",         "resnet34",          "resnet50",
      "resnet101",      "resnet152",        "se_resnet50",       "se_resnext50_32x4d",
      "densenet121",    "monai_seresnet50", "monai_seresnext50", "monai_resnet18",
      "monai_resnet50", "merlin_resnet152", "vista3d_segresnet", "ctclip_vit"};
  return names;
}

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& f : detail::key_table())
      k.push_back(f.key);
    return k;
  }();
  return keys;
}

ExperimentConfig parse_experiment(const FlatConfig& flat, const std::filesystem::path& base_dir) {
  ExperimentConfig c;
  detail::Problems problems;
  for (const auto& [key, at] : flat) {
    if (std::find(known_keys().begin(), known_keys().end(), key) == known_keys().end()) {
      auto hint = did_you_mean(key, known_keys());
      problems.add(at, key, "unknown key" + (hint.empty() ? "" : " (" + hint + ")"));
    }
  }
  // Schema order, not file order: cohort.dir must run before the explicit path keys.
  for (const auto& field : detail::key_table()) {
    auto it = flat.find(field.key);
    if (it == flat.end())
      continue;
    field.read(c, it->second, problems, base_dir);
  }
  Located top{YAML::Node(), flat.empty() ? std::string("<config>") : flat.begin()->second.file, 1,
              1};
  if (c.name.empty() && !flat.count("name")) // a bad name was reported where it is
    problems.add(top, "name", "missing required key (the sweep's name, e.g. 'name: demo')");
  if (c.cohort.csv.empty())
    problems.add(top, "cohort",
                 "missing required key 'cohort.dir' (or cohort.csv, cohort.images "
                 "and cohort.centroids)");
  else if (c.cohort.images.empty() || c.cohort.centroids.empty())
    problems.add(top, "cohort", "cohort.images and cohort.centroids are required with cohort.csv");
  if (c.preprocess.hu_min >= c.preprocess.hu_max) {
    auto it = flat.find("preprocess.hu_max");
    problems.add(it != flat.end() ? it->second : top, "preprocess.hu_max",
                 "must be greater than preprocess.hu_min");
  }
  if (c.cohort.centroid_format != "csv" && !c.cohort.centroids.empty() &&
      c.cohort.centroids.find("{id}") == std::string::npos) {
    auto it = flat.find("cohort.centroids");
    problems.add(it != flat.end() ? it->second : top, "cohort.centroids",
                 "a " + c.cohort.centroid_format +
                     " centroid source is one file per subject: the path needs {id}");
  }
  if (c.preprocess.output == "3d" && c.model.dims == 2) {
    auto it = flat.find("preprocess.output");
    problems.add(it != flat.end() ? it->second : top, "preprocess.output",
                 "3d patches need model.dims: 3 (a 2D model takes 2d projections)");
  }
  if (c.preprocess.output == "2d" && c.model.dims == 3) {
    auto it = flat.find("model.dims");
    problems.add(it != flat.end() ? it->second : top, "model.dims",
                 "a 3D model needs 3d patches (preprocess.output: 3d)");
  }
  if (c.model.dims == 2 && is_3d_only(c.model.arch)) {
    auto it = flat.find("model.dims");
    problems.add(it != flat.end() ? it->second : top,
                 it != flat.end() ? "model.dims" : "model.arch",
                 c.model.arch + " is a 3D encoder: it needs model.dims: 3 and 3d patches");
  }
  check_vit_patches(c, flat, top, problems);
  // Sizes of an encoder this configuration does not build change nothing: back to their
  // defaults, so that they stay out of its id (a sweep may set them beside a model.arch axis).
  if (c.model.arch != "ctclip_vit")
    c.model.vit = {};
  if (c.model.arch != "vista3d_segresnet")
    c.model.segresnet = {};
  if (c.pretrained.file.empty() && c.pretrained.effective_mode() != "none" &&
      c.pretrained.effective_mode() != "ssl") { // ssl without a file: the pretrain task
    auto it = flat.find("pretrained.mode");
    problems.add(it != flat.end() ? it->second : top, "pretrained.mode",
                 "'" + c.pretrained.mode + "' needs pretrained.file (the weights to load)");
  }
  if (c.pretrained.effective_mode() == "imagenet" && !c.pretrained.key_map.empty()) {
    auto it = flat.find("pretrained.key_map");
    problems.add(it->second, it->first,
                 "imagenet weights have torchvision's names: no key map (use mode checkpoint)");
  }
  // Freezing or gradually unfreezing a randomly initialised backbone trains a worse model
  // than full training and answers no question: it is a sweep that crossed too much.
  if (c.train.finetune != "full" && c.pretrained.effective_mode() == "none") {
    auto it = flat.find("train.finetune");
    problems.add(it != flat.end() ? it->second : top, "train.finetune",
                 "'" + c.train.finetune +
                     "' needs pretrained weights, but pretrained.mode resolves to none: "
                     "finetuning strategies other than full start from pretrained weights. In a "
                     "sweep, drop these points with a rule such as sweep.exclude: "
                     "[{pretrained.mode: none, train.finetune: [linear_probe, layerwise, "
                     "bn_only]}]");
  }
  if (c.train.nesterov && c.train.optimizer == "sgd" && c.train.momentum <= 0) {
    auto it = flat.find("train.nesterov");
    problems.add(it->second, it->first, "needs train.momentum > 0");
  }
  if (c.pretrained.file.empty() &&
      (flat.count("pretrained.key_map") || flat.count("pretrained.prefix"))) {
    auto it = flat.count("pretrained.key_map") ? flat.find("pretrained.key_map")
                                               : flat.find("pretrained.prefix");
    problems.add(it->second, it->first, "needs pretrained.file (the weights to load)");
  }
  if (c.preprocess.slab_mm > c.preprocess.patch_mm) {
    auto it = flat.find("preprocess.slab_mm");
    problems.add(it != flat.end() ? it->second : top, "preprocess.slab_mm",
                 "the slab cannot be wider than the patch (preprocess.patch_mm)");
  }
  resolve_ssl(c, flat, top, problems);
  problems.throw_if_any();
  return c;
}

std::filesystem::path subject_path(const std::string& pattern, const std::string& subject_id) {
  std::string out = pattern;
  for (auto pos = out.find("{id}"); pos != std::string::npos; pos = out.find("{id}", pos))
    out.replace(pos, 4, subject_id);
  return out;
}

} // namespace vfp::config
