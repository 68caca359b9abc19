#include "config/key_table.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

namespace vfp::config::detail {
namespace {

using C = ExperimentConfig;
using Base = std::filesystem::path;
using Json = nlohmann::json;

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

// Absolute and normalised, so that a sweep gives the same configuration ids and cache keys
// whichever folder it is run from and however its path is spelt.
std::filesystem::path resolve(const Base& base, const std::string& p) {
  std::filesystem::path path(p);
  return std::filesystem::absolute(path.is_absolute() ? path : base / path).lexically_normal();
}

/// A member of one section of the config, named once: VFP_KEY(train, lr).
template <class S, class T> struct Slot {
  const char* key;
  S C::*section;
  T S::*member;
  /// A section inside a section (ssl.cohort): reached through this instead of `section`.
  S& (*nested)(C&) = nullptr;
  S& part(C& c) const { return nested ? nested(c) : c.*section; }
  // `nested` only locates the part; nothing is written through the cast.
  const S& part(const C& c) const { return nested ? nested(const_cast<C&>(c)) : c.*section; }
  T& of(C& c) const { return part(c).*member; }
  const T& of(const C& c) const { return part(c).*member; }
};
template <class S, class T> Slot<S, T> slot(const char* key, S C::*section, T S::*member) {
  return {key, section, member};
}
#define VFP_KEY(section, member)                                                                   \
  slot(#section "." #member, &ExperimentConfig::section,                                           \
       &decltype(ExperimentConfig::section)::member)

CohortConfig& ssl_cohort(C& c) {
  return c.ssl.cohort;
}
/// A key of the external pretraining cohort: ssl.cohort.<member>, a member of CohortConfig.
#define VFP_SSL_COHORT_KEY(member)                                                                 \
  Slot<CohortConfig, decltype(CohortConfig::member)> {                                             \
    "ssl.cohort." #member, nullptr, &CohortConfig::member, &ssl_cohort                             \
  }

ModelConfig::Vit& model_vit(C& c) {
  return c.model.vit;
}
ModelConfig::SegResNet& model_segresnet(C& c) {
  return c.model.segresnet;
}
/// A size of one encoder: model.<part>.<member>, a member of ModelConfig's struct `Part`.
#define VFP_MODEL_PART_KEY(part, Part, member)                                                     \
  Slot<ModelConfig::Part, decltype(ModelConfig::Part::member)> {                                   \
    "model." #part "." #member, nullptr, &ModelConfig::Part::member, &model_##part                 \
  }

// Paths travel through JSON as strings; everything else as itself.
template <class T> Json json_value(const T& v) {
  return v;
}
Json json_value(const std::filesystem::path& v) {
  return v.string();
}
template <class T> void load_value(const Json& j, T& out) {
  j.get_to(out);
}
void load_value(const Json& j, std::filesystem::path& out) {
  out = j.get<std::string>();
}

/// Reads one YAML value into `out`; false (with a problem noted) when it is no good.
template <class T>
using Reader =
    std::function<bool(const Located&, const std::string& key, Problems&, const Base&, T& out)>;

template <class S, class T> Field field(Slot<S, T> s, Reader<T> reader, InJson in_json) {
  Field f;
  f.key = s.key;
  f.in_json = in_json;
  f.read = [s, reader](C& c, const Located& at, Problems& p, const Base& base) {
    T v{};
    if (reader(at, s.key, p, base, v))
      s.of(c) = v;
  };
  f.write = [s](const C& c) { return json_value(s.of(c)); };
  f.load = [s](C& c, const Json& j) { load_value(j, s.of(c)); };
  return f;
}

template <class S>
Field number(Slot<S, double> s, double lo, double hi, InJson in_json = InJson::kAlways) {
  return field<S, double>(
      s,
      [=](const Located& at, const std::string& key, Problems& p, const Base&, double& out) {
        return read_double(at, key, lo, hi, out, p);
      },
      in_json);
}

template <class S, class T>
Field integer(Slot<S, T> s, long lo, long hi, InJson in_json = InJson::kAlways) {
  return field<S, T>(
      s,
      [=](const Located& at, const std::string& key, Problems& p, const Base&, T& out) {
        long v = 0;
        if (!read_int(at, key, lo, hi, v, p))
          return false;
        out = static_cast<T>(v);
        return true;
      },
      in_json);
}

/// A string from `choices` (any string when empty).
template <class S>
Field choice(Slot<S, std::string> s, const std::vector<std::string>& choices,
             InJson in_json = InJson::kAlways) {
  return field<S, std::string>(
      s,
      [=](const Located& at, const std::string& key, Problems& p, const Base&, std::string& out) {
        return read_choice(at, key, choices, out, p);
      },
      in_json);
}

template <class S> Field flag(Slot<S, bool> s, InJson in_json = InJson::kAlways) {
  return field<S, bool>(
      s,
      [](const Located& at, const std::string& key, Problems& p, const Base&, bool& out) {
        if (at.node.IsScalar() && YAML::convert<bool>::decode(at.node, out))
          return true;
        p.add(at, key, "expected true or false, got '" + scalar_text(at.node) + "'");
        return false;
      },
      in_json);
}

/// A non-empty list of names from `allowed`; `what` describes the list in the error.
template <class S>
Field names(Slot<S, std::vector<std::string>> s, const std::vector<std::string>& allowed,
            const std::string& what, InJson in_json = InJson::kAlways) {
  return field<S, std::vector<std::string>>(
      s,
      [=](const Located& at, const std::string& key, Problems& p, const Base&,
          std::vector<std::string>& out) {
        if (!at.node.IsSequence() || at.node.size() == 0) {
          p.add(at, key, "expected a non-empty list of " + what);
          return false;
        }
        for (const auto& v : at.node) {
          std::string name;
          Located item{v, at.file, v.Mark().line + 1, v.Mark().column + 1};
          if (!read_choice(item, key, allowed, name, p))
            return false;
          out.push_back(name);
        }
        return true;
      },
      in_json);
}

/// A path key that must name an existing file (relative to the config's folder).
template <class S> Field existing_file(Slot<S, std::filesystem::path> s) {
  return field<S, std::filesystem::path>(
      s,
      [](const Located& at, const std::string& key, Problems& p, const Base& base,
         std::filesystem::path& out) {
        if (!at.node.IsScalar() || at.node.Scalar().empty()) {
          p.add(at, key, "expected a file path");
          return false;
        }
        out = resolve(base, at.node.Scalar());
        if (std::filesystem::is_regular_file(out))
          return true;
        p.add(at, key, "no such file: " + out.string());
        return false;
      },
      InJson::kAlways);
}

/// A path (pattern) resolved against the config's folder; `need_id`: it must hold {id}.
template <class S, class T>
Field path(Slot<S, T> s, bool need_id, const std::string& expected,
           InJson in_json = InJson::kAlways) {
  return field<S, T>(
      s,
      [=](const Located& at, const std::string& key, Problems& p, const Base& base, T& out) {
        if (!at.node.IsScalar() ||
            (need_id && at.node.Scalar().find("{id}") == std::string::npos)) {
          p.add(at, key, "expected " + expected);
          return false;
        }
        out = T(resolve(base, at.node.Scalar()).string());
        return true;
      },
      in_json);
}

Field sweep_name() {
  Field f;
  f.key = "name";
  f.read = [](C& c, const Located& at, Problems& p, const Base&) {
    static const std::regex ok("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    if (!at.node.IsScalar() || !std::regex_match(at.node.Scalar(), ok))
      p.add(at, "name",
            "a sweep name is 1-64 letters, digits, '_', '.' or '-' (it names a results folder), "
            "got '" +
                scalar_text(at.node) + "'");
    else
      c.name = at.node.Scalar();
  };
  f.write = [](const C& c) { return Json(c.name); };
  f.load = [](C& c, const Json& j) { j.get_to(c.name); };
  return f;
}

/// The cohort's folder: defaults for csv, images and centroids (explicit keys, read after
/// this one, win). Not in the JSON: the paths it implies are.
Field cohort_dir() {
  Field f;
  f.key = "cohort.dir";
  f.in_json = InJson::kNever;
  f.read = [](C& c, const Located& at, Problems& p, const Base& base) {
    if (!at.node.IsScalar())
      return p.add(at, "cohort.dir", "expected a folder path");
    auto dir = resolve(base, at.node.Scalar());
    if (c.cohort.csv.empty())
      c.cohort.csv = dir / "cohort.csv";
    if (c.cohort.images.empty())
      c.cohort.images = (dir / "images" / "{id}.nii.gz").string();
    if (c.cohort.centroids.empty())
      c.cohort.centroids = (dir / "centroids" / "{id}.json").string();
  };
  f.write = [](const C&) { return Json(); };
  f.load = [](C&, const Json&) {};
  return f;
}

/// ssl.cohort.dir: as cohort.dir, for the external pretraining cohort, whose table is optional:
/// csv defaults to <dir>/cohort.csv only when that file exists (else every image of
/// <dir>/images is a subject). Read before the explicit ssl.cohort keys, which win.
Field ssl_cohort_dir() {
  Field f;
  f.key = "ssl.cohort.dir";
  f.in_json = InJson::kNever;
  f.read = [](C& c, const Located& at, Problems& p, const Base& base) {
    if (!at.node.IsScalar() || at.node.Scalar().empty())
      return p.add(at, "ssl.cohort.dir", "expected a folder path");
    auto dir = resolve(base, at.node.Scalar());
    auto& cohort = c.ssl.cohort;
    if (cohort.csv.empty() && std::filesystem::is_regular_file(dir / "cohort.csv"))
      cohort.csv = dir / "cohort.csv";
    if (cohort.images.empty())
      cohort.images = (dir / "images" / "{id}.nii.gz").string();
    if (cohort.centroids.empty())
      cohort.centroids = (dir / "centroids" / "{id}.json").string();
  };
  f.write = [](const C&) { return Json(); };
  f.load = [](C&, const Json&) {};
  return f;
}

/// Vertebrae a patch may be cut at; `all`: every one of them the centroids label.
const std::vector<std::string>& vertebra_names() {
  static const std::vector<std::string> v{"all", "T1",  "T2",  "T3",  "T4", "T5", "T6", "T7", "T8",
                                          "T9",  "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"};
  return v;
}

/// cohort.dicom_series: largest, uid:<SeriesInstanceUID> or desc:<glob>. In the JSON only
/// when not largest, so that caches and ids made before the key keep theirs.
template <class S> Field dicom_series_rule(Slot<S, std::string> s) {
  return field<S, std::string>(
      s,
      [](const Located& at, const std::string& key, Problems& p, const Base&, std::string& out) {
        const auto v = at.node.IsScalar() ? at.node.Scalar() : std::string();
        const bool ok = v == "largest" || (v.rfind("uid:", 0) == 0 && v.size() > 4) ||
                        (v.rfind("desc:", 0) == 0 && v.size() > 5);
        if (!ok) {
          p.add(at, key,
                "expected largest, uid:<SeriesInstanceUID> or desc:<pattern> (* and ? "
                "wildcards), got '" +
                    scalar_text(at.node) + "'");
          return false;
        }
        out = v;
        return true;
      },
      InJson::kUnlessDefault);
}

/// Marks `f` a runtime setting (Field::runtime): it changes how a task runs, never its result.
Field runtime(Field f) {
  f.runtime = true;
  return f;
}

std::vector<Field> make_table() {
  constexpr auto later = InJson::kUnlessDefault;
  const std::vector<std::string> axes{"sagittal", "coronal", "axial"};
  return {
      sweep_name(),
      cohort_dir(),
      path(VFP_KEY(cohort, csv), false, "a file path"),
      path(VFP_KEY(cohort, images), true, "a path pattern containing {id}"),
      path(VFP_KEY(cohort, centroids), false, "a path pattern containing {id}, or a CSV file"),
      choice(VFP_KEY(cohort, centroid_format), {"verse", "csv", "labelmap"}),
      choice(VFP_KEY(cohort, centroid_space), {"lps", "ras"}),
      choice(VFP_KEY(cohort, on_bad_subject), {"error", "exclude"}),
      dicom_series_rule(VFP_KEY(cohort, dicom_series)),
      number(VFP_KEY(preprocess, spacing_mm), 0.1, 10),
      number(VFP_KEY(preprocess, patch_mm), 4, 512),
      number(VFP_KEY(preprocess, hu_min), -4096, 4096),
      number(VFP_KEY(preprocess, hu_max), -4096, 4096),
      choice(VFP_KEY(preprocess, projection), {"aip", "mip", "slice"}),
      choice(VFP_KEY(preprocess, axis), axes),
      number(VFP_KEY(preprocess, slab_mm), 0.1, 512),
      integer(VFP_KEY(preprocess, slab_start), -1, 1024),
      integer(VFP_KEY(preprocess, patch_voxels), 0, 1024),
      names(VFP_KEY(preprocess, channels), axes, "axes, e.g. [sagittal, coronal, axial]"),
      choice(VFP_KEY(preprocess, output), {"2d", "3d"}),
      // Runtime: lossless gzip of the cache's chunks; the patches read back are the same.
      runtime(integer(VFP_KEY(preprocess, compression), 0, 9)),
      // In the cache key only when not float32, so that existing caches keep their keys.
      choice(VFP_KEY(preprocess, dtype), {"float32", "float16", "uint16"}, later),
      // Runtime: how the cache recognises its sources (content or size and mtime), not what
      // it holds.
      runtime(flag(VFP_KEY(preprocess, content_hash))),
      names(VFP_KEY(preprocess, vertebrae), vertebra_names(), "vertebrae, e.g. [L1, L2]"),
      integer(VFP_KEY(cv, folds), 2, 20),
      integer(VFP_KEY(cv, repeats), 1, 100),
      integer(VFP_KEY(cv, seed), 0, 2147483647L),
      number(VFP_KEY(cv, val_fraction), 0.05, 0.5),
      choice(VFP_KEY(model, arch), model_architectures()),
      integer(VFP_KEY(model, head_hidden), 0, 65536),
      // Encoder sizes added later: written only when set, so that older ids stay.
      integer(VFP_MODEL_PART_KEY(vit, Vit, patch_size), 1, 512, later),
      integer(VFP_MODEL_PART_KEY(vit, Vit, temporal_patch_size), 1, 512, later),
      integer(VFP_MODEL_PART_KEY(vit, Vit, dim), 1, 8192, later),
      integer(VFP_MODEL_PART_KEY(vit, Vit, spatial_depth), 1, 64, later),
      integer(VFP_MODEL_PART_KEY(vit, Vit, temporal_depth), 1, 64, later),
      integer(VFP_MODEL_PART_KEY(vit, Vit, heads), 1, 256, later),
      integer(VFP_MODEL_PART_KEY(vit, Vit, dim_head), 1, 1024, later),
      integer(VFP_MODEL_PART_KEY(segresnet, SegResNet, init_filters), 1, 256, later),
      existing_file(VFP_KEY(pretrained, file)),
      existing_file(VFP_KEY(pretrained, key_map)),
      choice(VFP_KEY(pretrained, prefix), {}),
      choice(VFP_KEY(pretrained, inflation), {"mean", "centre"}),
      choice(VFP_KEY(pretrained, channels), {"sum", "mean"}),
      flag(VFP_KEY(pretrained, strict)),
      flag(VFP_KEY(pretrained, keep_head)),
      // Written only when set: an empty mode (resolved from `file`) keeps older ids.
      choice(VFP_KEY(pretrained, mode), {"none", "imagenet", "ssl", "checkpoint"}, later),
      number(VFP_KEY(train, momentum), 0, 0.999, later),
      flag(VFP_KEY(train, nesterov), later),
      choice(VFP_KEY(train, schedule), {"constant", "step", "cosine"}, later),
      integer(VFP_KEY(train, warmup_epochs), 0, 1000, later),
      integer(VFP_KEY(train, step_epochs), 1, 1000, later),
      number(VFP_KEY(train, step_gamma), 1e-6, 1, later),
      choice(VFP_KEY(train, finetune), {"full", "linear_probe", "layerwise", "bn_only"}, later),
      integer(VFP_KEY(train, unfreeze_every), 1, 1000, later),
      number(VFP_KEY(train, layer_lr_decay), 1e-3, 1, later),
      number(VFP_KEY(train, layer_wd_decay), 0, 10, later),
      choice(VFP_KEY(train, loss), {"bce", "focal"}, later),
      number(VFP_KEY(train, focal_gamma), 0, 10, later),
      number(VFP_KEY(train, focal_alpha), -1, 1, later),
      // Runtime: moving a sweep from a CPU test to the GPU cluster must not retrain it (the
      // numbers agree within floating-point tolerance; amp, below, does change them).
      runtime(choice(VFP_KEY(train, device), {"auto", "cpu", "cuda"}, later)),
      flag(VFP_KEY(train, amp), later),
      choice(VFP_KEY(ssl, data), {"all", "outer_train", "external"}),
      // The external pretraining cohort: written only when set, so that older ids stay.
      ssl_cohort_dir(),
      path(VFP_SSL_COHORT_KEY(csv), false, "a file path", later),
      path(VFP_SSL_COHORT_KEY(images), true, "a path pattern containing {id}", later),
      path(VFP_SSL_COHORT_KEY(centroids), false, "a path pattern containing {id}, or a CSV file",
           later),
      choice(VFP_SSL_COHORT_KEY(centroid_format), {"verse", "csv", "labelmap"}, later),
      choice(VFP_SSL_COHORT_KEY(centroid_space), {"lps", "ras"}, later),
      choice(VFP_SSL_COHORT_KEY(on_bad_subject), {"error", "exclude"}, later),
      dicom_series_rule(VFP_SSL_COHORT_KEY(dicom_series)),
      names(VFP_KEY(ssl, vertebrae), vertebra_names(), "vertebrae, e.g. [all] or [T12, L1, L2]",
            later),
      integer(VFP_KEY(ssl, epochs), 1, 10000),
      integer(VFP_KEY(ssl, batch_size), 2, 4096),
      choice(VFP_KEY(ssl, optimizer), {"adamw", "lars"}),
      number(VFP_KEY(ssl, lr), 1e-8, 100),
      choice(VFP_KEY(ssl, schedule), {"cosine", "constant"}),
      number(VFP_KEY(ssl, weight_decay), 0, 1),
      number(VFP_KEY(ssl, tau_base), 0, 1),
      integer(VFP_KEY(ssl, projector_hidden), 1, 65536),
      integer(VFP_KEY(ssl, projection_dim), 1, 65536),
      number(VFP_KEY(ssl, crop_min_scale), 0.01, 1),
      flag(VFP_KEY(ssl, flips)),
      number(VFP_KEY(ssl, brightness), 0, 1),
      number(VFP_KEY(ssl, contrast), 0, 1),
      number(VFP_KEY(ssl, blur_probability), 0, 1),
      number(VFP_KEY(ssl, noise_std), 0, 1),
      integer(VFP_KEY(cox, bootstrap), 0, 100000, InJson::kNever),
      choice(VFP_KEY(train, stop_on), {"auroc", "loss"}, later),
      // Runtime: keeping the best epoch's weights on disk changes no number.
      runtime(flag(VFP_KEY(train, save_model))),
      integer(VFP_KEY(model, dims), 2, 3),
      integer(VFP_KEY(model, width), 4, 256),
      number(VFP_KEY(model, dropout), 0, 0.9),
      choice(VFP_KEY(train, optimizer), {"adamw", "adam", "sgd"}),
      number(VFP_KEY(train, lr), 1e-8, 10),
      number(VFP_KEY(train, weight_decay), 0, 1),
      integer(VFP_KEY(train, batch_size), 1, 4096),
      integer(VFP_KEY(train, max_epochs), 1, 10000),
      integer(VFP_KEY(train, patience), 1, 10000),
      number(VFP_KEY(train, min_delta), 0, 1),
      flag(VFP_KEY(train, augment)),
      flag(VFP_KEY(train, balanced_loss)),
      choice(VFP_KEY(train, sampling), {"shuffle", "balanced"}),
      // Runtime: each sample's augmentation is seeded by epoch and position, not by thread.
      runtime(integer(VFP_KEY(train, loader_threads), 0, 64)),
      number(VFP_KEY(augmentation, flip), 0, 1),
      number(VFP_KEY(augmentation, rotate_deg), 0, 180),
      number(VFP_KEY(augmentation, scale), 0, 0.9),
      number(VFP_KEY(augmentation, intensity_shift), 0, 1),
      number(VFP_KEY(augmentation, intensity_scale), 0, 0.9),
      number(VFP_KEY(augmentation, noise_std), 0, 1),
      choice(VFP_KEY(train, aggregation), {"max", "mean", "noisy_or"}),
      // Runtime: torch's intra-op threads (0: the rank's CPUs), a property of the machine.
      runtime(integer(VFP_KEY(train, threads), 0, 1024)),
      // Runtime: on CUDA it picks among algorithms that compute the same function (to
      // rounding), as the device does; on CPU it changes nothing.
      runtime(flag(VFP_KEY(train, deterministic), later)),
  };
}

#undef VFP_MODEL_PART_KEY
#undef VFP_SSL_COHORT_KEY
#undef VFP_KEY

} // namespace

void Problems::add(const Located& at, const std::string& key, const std::string& what) {
  lines_.push_back(at.where() + ": " + shorten_for_message(key, 200) + ": " + what);
}

void Problems::throw_if_any() const {
  if (lines_.empty())
    return;
  std::ostringstream msg;
  msg << "invalid configuration (" << lines_.size() << " problem" << (lines_.size() > 1 ? "s" : "")
      << "):";
  for (const auto& l : lines_)
    msg << "\n  " << l;
  throw InputError(msg.str());
}

std::string Field::section() const {
  const auto dot = key.find('.');
  return dot == std::string::npos ? std::string() : key.substr(0, dot);
}

std::string Field::name() const {
  return key.substr(key.find('.') + 1);
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar())
    return shorten_for_message(n.Scalar());
  if (n.IsSequence())
    return "a list";
  if (n.IsMap())
    return "a mapping";
  return "nothing";
}

const std::vector<Field>& key_table() {
  static const std::vector<Field> table = make_table();
  return table;
}

} // namespace vfp::config::detail
