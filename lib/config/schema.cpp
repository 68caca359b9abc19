#include "config/config.h"

#include "core/core.h"

#include <cmath>
#include <functional>
#include <regex>
#include <sstream>

namespace vfp::config {
namespace {

/// Collects every problem so a user fixes a config in one round.
class Problems {
public:
  void add(const Located& at, const std::string& key, const std::string& what) {
    lines_.push_back(at.where() + ": " + shorten_for_message(key, 200) + ": " + what);
  }
  void add_plain(const std::string& line) { lines_.push_back(line); }
  void throw_if_any() const {
    if (lines_.empty())
      return;
    std::ostringstream msg;
    msg << "invalid configuration (" << lines_.size() << " problem"
        << (lines_.size() > 1 ? "s" : "") << "):";
    for (const auto& l : lines_)
      msg << "\n  " << l;
    throw InputError(msg.str());
  }

private:
  std::vector<std::string> lines_;
};

/// A value as an error message shows it (shortened, control bytes escaped).
std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar())
    return shorten_for_message(n.Scalar());
  if (n.IsSequence())
    return "a list";
  if (n.IsMap())
    return "a mapping";
  return "nothing";
}

bool read_double(const Located& at, const std::string& key, double lo, double hi, double& out,
                 Problems& p) {
  double v = 0;
  if (!at.node.IsScalar() || !YAML::convert<double>::decode(at.node, v) || !std::isfinite(v)) {
    p.add(at, key, "expected a number, got '" + scalar_text(at.node) + "'");
    return false;
  }
  if (v < lo || v > hi) {
    std::ostringstream r;
    r << "value " << v << " is out of range [" << lo << ", " << hi << "]";
    p.add(at, key, r.str());
    return false;
  }
  out = v;
  return true;
}

bool read_int(const Located& at, const std::string& key, long lo, long hi, long& out, Problems& p) {
  long v = 0;
  if (!at.node.IsScalar() || !YAML::convert<long>::decode(at.node, v)) {
    p.add(at, key, "expected an integer, got '" + scalar_text(at.node) + "'");
    return false;
  }
  if (v < lo || v > hi) {
    p.add(at, key,
          "value " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
              std::to_string(hi) + "]");
    return false;
  }
  out = v;
  return true;
}

bool read_choice(const Located& at, const std::string& key, const std::vector<std::string>& choices,
                 std::string& out, Problems& p) {
  if (!at.node.IsScalar()) {
    p.add(at, key, "expected a string, got " + scalar_text(at.node));
    return false;
  }
  const auto v = at.node.Scalar();
  if (!choices.empty() && std::find(choices.begin(), choices.end(), v) == choices.end()) {
    std::string list;
    for (const auto& c : choices)
      list += (list.empty() ? "" : ", ") + c;
    auto hint = did_you_mean(v, choices);
    p.add(at, key,
          "'" + shorten_for_message(v) + "' is not one of: " + list +
              (hint.empty() ? "" : " (" + hint + ")"));
    return false;
  }
  out = v;
  return true;
}

struct Field {
  std::string key;
  std::function<void(ExperimentConfig&, const Located&, Problems&, const std::filesystem::path&,
                     const std::string&)>
      read;
};

// Absolute and normalised, so that a sweep gives the same configuration ids and cache keys
// whichever folder it is run from and however its path is spelt.
std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return std::filesystem::absolute(path.is_absolute() ? path : base / path).lexically_normal();
}

/// A path key that must name an existing file (relative to the config's folder).
void existing_file(const Located& at, Problems& p, const std::filesystem::path& base,
                   const std::string& key, std::filesystem::path& out) {
  if (!at.node.IsScalar() || at.node.Scalar().empty())
    return p.add(at, key, "expected a file path");
  const auto path = resolve(base, at.node.Scalar());
  if (!std::filesystem::is_regular_file(path))
    return p.add(at, key, "no such file: " + path.string());
  out = path;
}

const std::vector<Field>& schema() {
  using C = ExperimentConfig;
  using Base = std::filesystem::path;
  auto dbl = [](auto getter, double lo, double hi) {
    return [=](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
      double v;
      if (read_double(at, key, lo, hi, v, p))
        getter(c) = v;
    };
  };
  auto integer = [](auto getter, long lo, long hi) {
    return [=](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
      long v;
      if (read_int(at, key, lo, hi, v, p))
        getter(c) = static_cast<std::remove_reference_t<decltype(getter(c))>>(v);
    };
  };
  auto choice = [](auto getter, std::vector<std::string> choices) {
    return [=](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
      std::string v;
      if (read_choice(at, key, choices, v, p))
        getter(c) = v;
    };
  };
  auto boolean = [](auto getter) {
    return [=](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
      bool v;
      if (!at.node.IsScalar() || !YAML::convert<bool>::decode(at.node, v))
        p.add(at, key, "expected true or false, got '" + scalar_text(at.node) + "'");
      else
        getter(c) = v;
    };
  };
  static const std::vector<Field> fields =
      {
          {"name",
           [](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
             static const std::regex ok("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
             if (!at.node.IsScalar() || !std::regex_match(at.node.Scalar(), ok))
               p.add(at, key,
                     "a sweep name is 1-64 letters, digits, '_', '.' or '-' (it names a results "
                     "folder), got '" +
                         scalar_text(at.node) + "'");
             else
               c.name = at.node.Scalar();
           }},
          {"cohort.dir",
           [](C& c, const Located& at, Problems& p, const Base& base, const std::string& key) {
             if (!at.node.IsScalar())
               return p.add(at, key, "expected a folder path");
             auto dir = resolve(base, at.node.Scalar());
             // Only defaults: explicit cohort.csv/images/centroids keys win (read after this one).
             if (c.cohort.csv.empty())
               c.cohort.csv = dir / "cohort.csv";
             if (c.cohort.images.empty())
               c.cohort.images = (dir / "images" / "{id}.nii.gz").string();
             if (c.cohort.centroids.empty())
               c.cohort.centroids = (dir / "centroids" / "{id}.json").string();
           }},
          {"cohort.csv",
           [](C& c, const Located& at, Problems& p, const Base& base, const std::string& key) {
             if (!at.node.IsScalar())
               return p.add(at, key, "expected a file path");
             c.cohort.csv = resolve(base, at.node.Scalar());
           }},
          {"cohort.images",
           [](C& c, const Located& at, Problems& p, const Base& base, const std::string& key) {
             if (!at.node.IsScalar() || at.node.Scalar().find("{id}") == std::string::npos)
               return p.add(at, key, "expected a path pattern containing {id}");
             c.cohort.images = resolve(base, at.node.Scalar()).string();
           }},
          {"cohort.centroids",
           [](C& c, const Located& at, Problems& p, const Base& base, const std::string& key) {
             if (!at.node.IsScalar())
               return p.add(at, key, "expected a path pattern containing {id}, or a CSV file");
             c.cohort.centroids = resolve(base, at.node.Scalar()).string();
           }},
          {"cohort.centroid_format",
           choice([](C& c) -> std::string& { return c.cohort.centroid_format; },
                  {"verse", "csv", "labelmap"})},
          {"cohort.centroid_space",
           choice([](C& c) -> std::string& { return c.cohort.centroid_space; }, {"lps", "ras"})},
          {"cohort.on_bad_subject",
           choice([](C& c) -> std::string& { return c.cohort.on_bad_subject; },
                  {"error", "exclude"})},
          {"preprocess.spacing_mm",
           dbl([](C& c) -> double& { return c.preprocess.spacing_mm; }, 0.1, 10)},
          {"preprocess.patch_mm",
           dbl([](C& c) -> double& { return c.preprocess.patch_mm; }, 4, 512)},
          {"preprocess.hu_min",
           dbl([](C& c) -> double& { return c.preprocess.hu_min; }, -4096, 4096)},
          {"preprocess.hu_max",
           dbl([](C& c) -> double& { return c.preprocess.hu_max; }, -4096, 4096)},
          {"preprocess.projection",
           choice([](C& c) -> std::string& { return c.preprocess.projection; },
                  {"aip", "mip", "slice"})},
          {"preprocess.axis", choice([](C& c) -> std::string& { return c.preprocess.axis; },
                                     {"sagittal", "coronal", "axial"})},
          {"preprocess.slab_mm",
           dbl([](C& c) -> double& { return c.preprocess.slab_mm; }, 0.1, 512)},
          {"preprocess.slab_start",
           integer([](C& c) -> int& { return c.preprocess.slab_start; }, -1, 1024)},
          {"preprocess.patch_voxels",
           integer([](C& c) -> int& { return c.preprocess.patch_voxels; }, 0, 1024)},
          {"preprocess.channels",
           [](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
             static const std::vector<std::string> axes{"sagittal", "coronal", "axial"};
             if (!at.node.IsSequence() || at.node.size() == 0)
               return p.add(at, key,
                            "expected a non-empty list of axes, e.g. [sagittal, coronal, axial]");
             std::vector<std::string> out;
             for (const auto& v : at.node) {
               std::string name;
               Located item{v, at.file, v.Mark().line + 1, v.Mark().column + 1};
               if (!read_choice(item, key, axes, name, p))
                 return;
               out.push_back(name);
             }
             c.preprocess.channels = out;
           }},
          {"preprocess.output",
           choice([](C& c) -> std::string& { return c.preprocess.output; }, {"2d", "3d"})},
          {"preprocess.compression",
           integer([](C& c) -> int& { return c.preprocess.compression; }, 0, 9)},
          {"preprocess.content_hash",
           boolean([](C& c) -> bool& { return c.preprocess.content_hash; })},
          {"preprocess.vertebrae",
           [](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
             static const std::vector<std::string> names{"T11", "T12", "L1", "L2",
                                                         "L3",  "L4",  "L5"};
             if (!at.node.IsSequence() || at.node.size() == 0)
               return p.add(at, key, "expected a non-empty list of vertebrae, e.g. [L1, L2]");
             std::vector<std::string> out;
             for (const auto& v : at.node) {
               std::string name;
               Located item{v, key, v.Mark().line + 1, v.Mark().column + 1};
               if (!read_choice(item, key, names, name, p))
                 return;
               out.push_back(name);
             }
             c.preprocess.vertebrae = out;
           }},
          {"cv.folds", integer([](C& c) -> int& { return c.cv.folds; }, 2, 20)},
          {"cv.repeats", integer([](C& c) -> int& { return c.cv.repeats; }, 1, 100)},
          {"cv.seed",
           [](C& c, const Located& at, Problems& p, const Base&, const std::string& key) {
             long v;
             if (read_int(at, key, 0, 2147483647L, v, p))
               c.cv.seed = static_cast<std::uint64_t>(v);
           }},
          {"cv.val_fraction", dbl([](C& c) -> double& { return c.cv.val_fraction; }, 0.05, 0.5)},
          {"model.arch",
           choice([](C& c) -> std::string& { return c.model.arch; }, model_architectures())},
          {"model.head_hidden",
           integer([](C& c) -> int& { return c.model.head_hidden; }, 0, 65536)},
          {"pretrained.file",
           [](C& c, const Located& at, Problems& p, const Base& base, const std::string& key) {
             existing_file(at, p, base, key, c.pretrained.file);
           }},
          {"pretrained.key_map",
           [](C& c, const Located& at, Problems& p, const Base& base, const std::string& key) {
             existing_file(at, p, base, key, c.pretrained.key_map);
           }},
          {"pretrained.prefix",
           choice([](C& c) -> std::string& { return c.pretrained.prefix; }, {})},
          {"pretrained.inflation",
           choice([](C& c) -> std::string& { return c.pretrained.inflation; }, {"mean", "centre"})},
          {"pretrained.channels",
           choice([](C& c) -> std::string& { return c.pretrained.channels; }, {"sum", "mean"})},
          {"pretrained.strict", boolean([](C& c) -> bool& { return c.pretrained.strict; })},
          {"pretrained.keep_head", boolean([](C& c) -> bool& { return c.pretrained.keep_head; })},
          {"pretrained.mode", choice([](C& c) -> std::string& { return c.pretrained.mode; },
                                     {"none", "imagenet", "ssl", "checkpoint"})},
          {"train.momentum", dbl([](C& c) -> double& { return c.train.momentum; }, 0, 0.999)},
          {"train.nesterov", boolean([](C& c) -> bool& { return c.train.nesterov; })},
          {"train.schedule", choice([](C& c) -> std::string& { return c.train.schedule; },
                                    {"constant", "step", "cosine"})},
          {"train.warmup_epochs",
           integer([](C& c) -> int& { return c.train.warmup_epochs; }, 0, 1000)},
          {"train.step_epochs", integer([](C& c) -> int& { return c.train.step_epochs; }, 1, 1000)},
          {"train.step_gamma", dbl([](C& c) -> double& { return c.train.step_gamma; }, 1e-6, 1)},
          {"train.finetune", choice([](C& c) -> std::string& { return c.train.finetune; },
                                    {"full", "linear_probe", "layerwise", "bn_only"})},
          {"train.unfreeze_every",
           integer([](C& c) -> int& { return c.train.unfreeze_every; }, 1, 1000)},
          {"train.layer_lr_decay",
           dbl([](C& c) -> double& { return c.train.layer_lr_decay; }, 1e-3, 1)},
          {"train.layer_wd_decay",
           dbl([](C& c) -> double& { return c.train.layer_wd_decay; }, 0, 10)},
          {"train.loss",
           choice([](C& c) -> std::string& { return c.train.loss; }, {"bce", "focal"})},
          {"train.focal_gamma", dbl([](C& c) -> double& { return c.train.focal_gamma; }, 0, 10)},
          {"train.focal_alpha", dbl([](C& c) -> double& { return c.train.focal_alpha; }, -1, 1)},
          {"train.device",
           choice([](C& c) -> std::string& { return c.train.device; }, {"auto", "cpu", "cuda"})},
          {"train.amp", boolean([](C& c) -> bool& { return c.train.amp; })},
          {"ssl.data",
           choice([](C& c) -> std::string& { return c.ssl.data; }, {"all", "outer_train"})},
          {"ssl.epochs", integer([](C& c) -> int& { return c.ssl.epochs; }, 1, 10000)},
          {"ssl.batch_size", integer([](C& c) -> int& { return c.ssl.batch_size; }, 2, 4096)},
          {"ssl.optimizer",
           choice([](C& c) -> std::string& { return c.ssl.optimizer; }, {"adamw", "lars"})},
          {"ssl.lr", dbl([](C& c) -> double& { return c.ssl.lr; }, 1e-8, 100)},
          {"ssl.schedule",
           choice([](C& c) -> std::string& { return c.ssl.schedule; }, {"cosine", "constant"})},
          {"ssl.weight_decay", dbl([](C& c) -> double& { return c.ssl.weight_decay; }, 0, 1)},
          {"ssl.tau_base", dbl([](C& c) -> double& { return c.ssl.tau_base; }, 0, 1)},
          {"ssl.projector_hidden",
           integer([](C& c) -> int& { return c.ssl.projector_hidden; }, 1, 65536)},
          {"ssl.projection_dim",
           integer([](C& c) -> int& { return c.ssl.projection_dim; }, 1, 65536)},
          {"ssl.crop_min_scale",
           dbl([](C& c) -> double& { return c.ssl.crop_min_scale; }, 0.01, 1)},
          {"ssl.flips", boolean([](C& c) -> bool& { return c.ssl.flips; })},
          {"ssl.brightness", dbl([](C& c) -> double& { return c.ssl.brightness; }, 0, 1)},
          {"ssl.contrast", dbl([](C& c) -> double& { return c.ssl.contrast; }, 0, 1)},
          {"ssl.blur_probability",
           dbl([](C& c) -> double& { return c.ssl.blur_probability; }, 0, 1)},
          {"ssl.noise_std", dbl([](C& c) -> double& { return c.ssl.noise_std; }, 0, 1)},
          {"cox.bootstrap", integer([](C& c) -> int& { return c.cox.bootstrap; }, 0, 100000)},
          {"train.stop_on",
           choice([](C& c) -> std::string& { return c.train.stop_on; }, {"auroc", "loss"})},
          {"train.save_model", boolean([](C& c) -> bool& { return c.train.save_model; })},
          {"model.dims", integer([](C& c) -> int& { return c.model.dims; }, 2, 3)},
          {"model.width", integer([](C& c) -> int& { return c.model.width; }, 4, 256)},
          {"model.dropout", dbl([](C& c) -> double& { return c.model.dropout; }, 0, 0.9)},
          {"train.optimizer", choice([](C& c) -> std::string& { return c.train.optimizer; },
                                     {"adamw", "adam", "sgd"})},
          {"train.lr", dbl([](C& c) -> double& { return c.train.lr; }, 1e-8, 10)},
          {"train.weight_decay", dbl([](C& c) -> double& { return c.train.weight_decay; }, 0, 1)},
          {"train.batch_size", integer([](C& c) -> int& { return c.train.batch_size; }, 1, 4096)},
          {"train.max_epochs", integer([](C& c) -> int& { return c.train.max_epochs; }, 1, 10000)},
          {"train.patience", integer([](C& c) -> int& { return c.train.patience; }, 1, 10000)},
          {"train.min_delta", dbl([](C& c) -> double& { return c.train.min_delta; }, 0, 1)},
          {"train.augment", boolean([](C& c) -> bool& { return c.train.augment; })},
          {"train.balanced_loss", boolean([](C& c) -> bool& { return c.train.balanced_loss; })},
          {"train.sampling",
           choice([](C& c) -> std::string& { return c.train.sampling; }, {"shuffle", "balanced"})},
          {"train.loader_threads",
           integer([](C& c) -> int& { return c.train.loader_threads; }, 0, 64)},
          {"augmentation.flip", dbl([](C& c) -> double& { return c.augmentation.flip; }, 0, 1)},
          {"augmentation.rotate_deg",
           dbl([](C& c) -> double& { return c.augmentation.rotate_deg; }, 0, 180)},
          {"augmentation.scale", dbl([](C& c) -> double& { return c.augmentation.scale; }, 0, 0.9)},
          {"augmentation.intensity_shift",
           dbl([](C& c) -> double& { return c.augmentation.intensity_shift; }, 0, 1)},
          {"augmentation.intensity_scale",
           dbl([](C& c) -> double& { return c.augmentation.intensity_scale; }, 0, 0.9)},
          {"augmentation.noise_std",
           dbl([](C& c) -> double& { return c.augmentation.noise_std; }, 0, 1)},
          {"train.aggregation", choice([](C& c) -> std::string& { return c.train.aggregation; },
                                       {"max", "mean", "noisy_or"})},
          {"train.threads", integer([](C& c) -> int& { return c.train.threads; }, 0, 1024)},
      };
  return fields;
}

} // namespace

bool is_3d_only(const std::string& arch) {
  // The registry's Architecture::dims, mirrored here because config stays torch-free.
  return arch == "merlin_resnet152" || arch == "ctclip_vit";
}

const std::vector<std::string>& model_architectures() {
  static const std::vector<std::string> names{
      "fnet",        "resnet18",         "resnet34",          "resnet50",
      "resnet101",   "resnet152",        "se_resnet50",       "se_resnext50_32x4d",
      "densenet121", "merlin_resnet152", "vista3d_segresnet", "ctclip_vit"};
  return names;
}

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& f : schema())
      k.push_back(f.key);
    return k;
  }();
  return keys;
}

ExperimentConfig parse_experiment(const FlatConfig& flat, const std::filesystem::path& base_dir) {
  ExperimentConfig c;
  Problems problems;
  for (const auto& [key, at] : flat) {
    if (std::find(known_keys().begin(), known_keys().end(), key) == known_keys().end()) {
      auto hint = did_you_mean(key, known_keys());
      problems.add(at, key, "unknown key" + (hint.empty() ? "" : " (" + hint + ")"));
    }
  }
  // Schema order, not file order: cohort.dir must run before the explicit path keys.
  for (const auto& field : schema()) {
    auto it = flat.find(field.key);
    if (it == flat.end())
      continue;
    field.read(c, it->second, problems, base_dir, field.key);
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
  problems.throw_if_any();
  return c;
}

nlohmann::json preprocess_json(const ExperimentConfig& c) {
  const auto& p = c.preprocess;
  return {{"cohort",
           {{"csv", c.cohort.csv.string()},
            {"images", c.cohort.images},
            {"centroids", c.cohort.centroids},
            {"centroid_format", c.cohort.centroid_format},
            {"centroid_space", c.cohort.centroid_space},
            {"on_bad_subject", c.cohort.on_bad_subject}}},
          {"preprocess",
           {{"spacing_mm", p.spacing_mm},
            {"patch_mm", p.patch_mm},
            {"hu_min", p.hu_min},
            {"hu_max", p.hu_max},
            {"projection", p.projection},
            {"axis", p.axis},
            {"slab_mm", p.slab_mm},
            {"slab_start", p.slab_start},
            {"patch_voxels", p.patch_voxels},
            {"channels", p.channels},
            {"output", p.output},
            {"vertebrae", p.vertebrae},
            {"compression", p.compression},
            {"content_hash", p.content_hash}}}};
}

namespace {

nlohmann::json ssl_json(const SslConfig& s) {
  return {{"data", s.data},
          {"epochs", s.epochs},
          {"batch_size", s.batch_size},
          {"optimizer", s.optimizer},
          {"lr", s.lr},
          {"schedule", s.schedule},
          {"weight_decay", s.weight_decay},
          {"tau_base", s.tau_base},
          {"projector_hidden", s.projector_hidden},
          {"projection_dim", s.projection_dim},
          {"crop_min_scale", s.crop_min_scale},
          {"flips", s.flips},
          {"brightness", s.brightness},
          {"contrast", s.contrast},
          {"blur_probability", s.blur_probability},
          {"noise_std", s.noise_std}};
}

} // namespace

nlohmann::json pretrain_json(const ExperimentConfig& c) {
  auto j = preprocess_json(c);
  j["model"] = {{"arch", c.model.arch}, {"dims", c.model.dims}, {"width", c.model.width}};
  j["ssl"] = ssl_json(c.ssl);
  if (c.ssl.data == "outer_train")
    j["cv"] = {{"folds", c.cv.folds}, {"seed", c.cv.seed}};
  return j;
}

nlohmann::json to_json(const ExperimentConfig& c) {
  auto j = preprocess_json(c);
  j["name"] = c.name;
  j["cv"] = {{"folds", c.cv.folds},
             {"repeats", c.cv.repeats},
             {"seed", c.cv.seed},
             {"val_fraction", c.cv.val_fraction}};
  j["model"] = {{"arch", c.model.arch},
                {"dims", c.model.dims},
                {"width", c.model.width},
                {"dropout", c.model.dropout},
                {"head_hidden", c.model.head_hidden}};
  if (c.pretrained.effective_mode() != "none") {
    const auto& w = c.pretrained;
    j["pretrained"] = {{"file", w.file.string()}, {"key_map", w.key_map.string()},
                       {"prefix", w.prefix},      {"inflation", w.inflation},
                       {"channels", w.channels},  {"strict", w.strict},
                       {"keep_head", w.keep_head}};
    if (!w.mode.empty())
      j["pretrained"]["mode"] = w.mode;
  }
  if (c.runs_pretraining()) // only then does the ssl section change the result
    j["ssl"] = ssl_json(c.ssl);
  const auto& t = c.train;
  j["train"] = {{"optimizer", t.optimizer},
                {"lr", t.lr},
                {"weight_decay", t.weight_decay},
                {"batch_size", t.batch_size},
                {"max_epochs", t.max_epochs},
                {"patience", t.patience},
                {"min_delta", t.min_delta},
                {"augment", t.augment},
                {"sampling", t.sampling},
                {"loader_threads", t.loader_threads},
                {"balanced_loss", t.balanced_loss},
                {"aggregation", t.aggregation},
                {"threads", t.threads},
                {"save_model", t.save_model}};
  // Keys added after 0.1 appear only when they differ from their defaults, so that results
  // already written keep their configuration ids (the id is a hash of this JSON).
  const TrainConfig d;
  auto put = [&](const char* key, const auto& value, const auto& fallback) {
    if (value != fallback)
      j["train"][key] = value;
  };
  put("momentum", t.momentum, d.momentum);
  put("nesterov", t.nesterov, d.nesterov);
  put("schedule", t.schedule, d.schedule);
  put("warmup_epochs", t.warmup_epochs, d.warmup_epochs);
  put("step_epochs", t.step_epochs, d.step_epochs);
  put("step_gamma", t.step_gamma, d.step_gamma);
  put("finetune", t.finetune, d.finetune);
  put("unfreeze_every", t.unfreeze_every, d.unfreeze_every);
  put("layer_lr_decay", t.layer_lr_decay, d.layer_lr_decay);
  put("layer_wd_decay", t.layer_wd_decay, d.layer_wd_decay);
  put("loss", t.loss, d.loss);
  put("focal_gamma", t.focal_gamma, d.focal_gamma);
  put("focal_alpha", t.focal_alpha, d.focal_alpha);
  put("stop_on", t.stop_on, d.stop_on);
  put("device", t.device, d.device);
  put("amp", t.amp, d.amp);
  const auto& a = c.augmentation;
  j["augmentation"] = {{"flip", a.flip},
                       {"rotate_deg", a.rotate_deg},
                       {"scale", a.scale},
                       {"intensity_shift", a.intensity_shift},
                       {"intensity_scale", a.intensity_scale},
                       {"noise_std", a.noise_std}};
  return j;
}

int PreprocessConfig::cube_voxels() const {
  return patch_voxels > 0 ? patch_voxels
                          : std::max(1, static_cast<int>(std::lround(patch_mm / spacing_mm)));
}

double PreprocessConfig::cube_spacing() const {
  return patch_voxels > 0 ? patch_mm / patch_voxels : spacing_mm;
}

std::filesystem::path subject_path(const std::string& pattern, const std::string& subject_id) {
  std::string out = pattern;
  for (auto pos = out.find("{id}"); pos != std::string::npos; pos = out.find("{id}", pos))
    out.replace(pos, 4, subject_id);
  return out;
}

} // namespace vfp::config
