// Weight files and state dicts: safetensors written and read (checked byte for byte against
// the format, not only against our own reader), corrupt files, torch.save archives, strict
// and non-strict loading, key maps, and torchvision's own weights giving torchvision's output.
#include "core/core.h"
#include "models/models.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using vfp::models::LoadMode;
using vfp::models::StateDict;

fs::path scratch() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("vfp_weights_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string le64(std::uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i, n >>= 8)
    out += char(n & 0xFF);
  return out;
}

/// A safetensors file from its header text and data bytes, built by hand.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

/// Runs `f`, which must throw vfp::InputError whose message holds every one of `parts`.
void expect_input_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no vfp::InputError; expected one mentioning " << *parts.begin();
  } catch (const vfp::InputError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "'" << p << "' not in: " << e.what();
  }
}

std::shared_ptr<vfp::models::Classifier> build(const std::string& arch, int in = 1, int outputs = 1,
                                               int width = 16) {
  vfp::models::ModelSpec spec;
  spec.arch = arch;
  spec.in_channels = in;
  spec.outputs = outputs;
  spec.width = width;
  return vfp::models::make_model(spec);
}

StateDict clone(const StateDict& state) {
  StateDict out;
  for (const auto& item : state)
    out.insert(item.key(), item.value().detach().clone());
  return out;
}

void expect_same_state(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.keys(), b.keys());
  for (const auto& item : a) {
    const auto& other = b[item.key()];
    EXPECT_EQ(item.value().scalar_type(), other.scalar_type()) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), other)) << item.key();
  }
}

/// A module with one parameter `w` [2] and one buffer `b` [1], for exact messages.
struct Tiny : torch::nn::Module {
  Tiny() {
    w = register_parameter("w", torch::tensor({1.0f, 2.0f}));
    b = register_buffer("b", torch::tensor({3.0f}));
  }
  torch::Tensor w, b;
};

const char* const reference_script_failure =
    "tests/models/torchvision_reference.py failed (see its output above); it needs Debian's "
    "python3-torch and python3-torchvision (apt-get install python3-torchvision)";

/// Runs tests/models/torchvision_reference.py into `dir` (with `mode`, if any).
bool run_reference_script(const fs::path& dir, const std::string& mode) {
  const std::string command = "/usr/bin/python3 " VFP_SOURCE_DIR
                              "/tests/models/torchvision_reference.py '" +
                              dir.string() + "' " + mode;
  const int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace

TEST(WeightsState, StateOfListsParametersThenBuffersUnderRecursiveNamesSharingTheTensors) {
  auto model = build("fnet", 1, 1, 4);
  const auto state = vfp::models::state_of(*model);
  const auto params = model->named_parameters();
  const auto buffers = model->named_buffers();
  ASSERT_EQ(state.size(), params.size() + buffers.size());
  EXPECT_EQ(state.keys().front(), "stage1.0.weight");
  EXPECT_EQ(state.keys()[params.size()], "stage1.1.running_mean");
  EXPECT_TRUE(state.contains("stage4.1.num_batches_tracked"));
  EXPECT_TRUE(state.contains("head.bias"));
  EXPECT_EQ(state["head.bias"].data_ptr(), params["head.bias"].data_ptr());
}

TEST(Safetensors, RoundTripsAResNet18WithItsBuffersAndMetadata) {
  torch::manual_seed(1);
  auto model = build("resnet18", 3, 10);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : model->named_buffers())
      if (b.key().find("num_batches_tracked") != std::string::npos)
        b.value().fill_(5);
      else
        b.value().uniform_(0.5, 1.5);
  }
  const auto state = vfp::models::state_of(*model);
  const auto file = scratch() / "resnet18.safetensors";
  const std::map<std::string, std::string> metadata{
      {"format", "pt"}, {"arch", "resnet18"}, {"odd \"key\"", "line\nbreak\ttab\x01 caf\xc3\xa9"}};
  vfp::models::write_safetensors(file, state, metadata);

  const auto read = vfp::models::read_weights(file);
  expect_same_state(read, state);
  EXPECT_EQ(read["bn1.num_batches_tracked"].scalar_type(), torch::kInt64);
  EXPECT_EQ(read["bn1.num_batches_tracked"].item<std::int64_t>(), 5);
  EXPECT_EQ(vfp::models::read_safetensors_metadata(file), metadata);
  // The atomic write leaves no temporary file behind.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(scratch()))
    files += e.path().filename().string().find("resnet18.safetensors") != std::string::npos;
  EXPECT_EQ(files, 1u);

  auto copy = build("resnet18", 3, 10);
  const auto report = vfp::models::load_state(*copy, read, LoadMode::kStrict, file.string());
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.loaded, state.size());
  EXPECT_EQ(report.describe(), "all 122 tensors loaded");
  model->eval();
  copy->eval();
  const auto x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::equal(model->forward(x), copy->forward(x)));
}

TEST(Safetensors, ReadsF16AndBF16AsFloat32HoldingTheHalfPrecisionValues) {
  torch::manual_seed(2);
  StateDict state;
  const auto half = torch::randn({3, 4}).to(torch::kFloat16);
  const auto bf16 = torch::randn({5}).to(torch::kBFloat16);
  const auto f64 = torch::randn({2, 2}, torch::kFloat64);
  state.insert("half", half);
  state.insert("bf16", bf16);
  state.insert("f64", f64);
  state.insert("i32", torch::tensor({-3, 4}, torch::kInt32));
  state.insert("i8", torch::tensor({-7}, torch::kInt8));
  state.insert("u8", torch::tensor({200}, torch::kUInt8));
  state.insert("bool", torch::tensor({true, false}));
  const auto file = scratch() / "dtypes.safetensors";
  vfp::models::write_safetensors(file, state);

  // The header names the file's dtypes: the half precision ones are stored as such.
  const auto bytes = read_bytes(file);
  for (const char* dtype :
       {"\"F16\"", "\"BF16\"", "\"F64\"", "\"I32\"", "\"I8\"", "\"U8\"", "\"BOOL\""})
    EXPECT_NE(bytes.find(dtype), std::string::npos) << dtype;

  const auto read = vfp::models::read_weights(file);
  ASSERT_EQ(read.keys(), state.keys());
  for (const char* key : {"half", "bf16", "f64"}) {
    EXPECT_EQ(read[key].scalar_type(), torch::kFloat32) << key;
    EXPECT_TRUE(torch::equal(read[key], state[key].to(torch::kFloat32))) << key;
  }
  for (const char* key : {"i32", "i8", "u8", "bool"}) {
    EXPECT_EQ(read[key].scalar_type(), state[key].scalar_type()) << key;
    EXPECT_TRUE(torch::equal(read[key], state[key])) << key;
  }
}

TEST(Safetensors, WriterProducesTheFormatsBytesExactly) {
  StateDict state;
  state.insert("w", torch::tensor({1.0f, -2.0f}));
  state.insert("n", torch::tensor(7, torch::kInt64).reshape({}));
  const auto file = scratch() / "layout.safetensors";
  vfp::models::write_safetensors(file, state, {{"format", "pt"}});

  // Python's safetensors: compact JSON, metadata first, then the tensors with contiguous
  // offsets; the header padded with spaces to a multiple of 8 bytes.
  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string data("\x00\x00\x80\x3f"                  // 1.0f
                         "\x00\x00\x00\xc0"                  // -2.0f
                         "\x07\x00\x00\x00\x00\x00\x00\x00", // 7
                         16);
  const auto bytes = read_bytes(file);
  EXPECT_EQ(bytes, le64(header.size()) + header + data);
  EXPECT_EQ(bytes.size() % 8, 0u);
}

TEST(Safetensors, ReaderDecodesAHandBuiltFileWithEscapesGapsAndHalfPrecisionBytes) {
  const std::string header = "{ \"__metadata__\" : { \"note\" : "
                             "\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\n\" } ,\n"
                             "  \"h\" : {\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},\n"
                             "  \"b\\u0031\" : {\"dtype\": \"BF16\", \"shape\": [1, 2], "
                             "\"data_offsets\": [4, 8]},\n"
                             "  \"flags\": {\"dtype\":\"BOOL\",\"shape\":[3],"
                             "\"data_offsets\":[8,11]},\n"
                             "  \"n\": {\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]},\n"
                             "  \"empty\": {\"dtype\":\"F32\",\"shape\":[0,3],"
                             "\"data_offsets\":[24,24]} }   ";
  const std::string data("\x00\x3c\x00\xc0"                  // F16 1.0, -2.0
                         "\x80\x3f\x49\x40"                  // BF16 1.0, 3.140625
                         "\x00\x01\x02"                      // BOOL false, true, true
                         "\xff\xff\xff\xff\xff"              // a gap, unused
                         "\x07\x00\x00\x00\x00\x00\x00\x00", // I64 7
                         24);
  const auto file = scratch() / "hand_built.safetensors";
  write_bytes(file, safetensors_bytes(header, data));

  const auto state = vfp::models::read_weights(file);
  EXPECT_EQ(state.keys(), (std::vector<std::string>{"h", "b1", "flags", "n", "empty"}));
  EXPECT_TRUE(torch::equal(state["h"], torch::tensor({1.0f, -2.0f})));
  EXPECT_TRUE(torch::equal(state["b1"], torch::tensor({{1.0f, 3.140625f}})));
  EXPECT_TRUE(torch::equal(state["flags"], torch::tensor({false, true, true})));
  EXPECT_EQ(state["n"].dim(), 0);
  EXPECT_EQ(state["n"].scalar_type(), torch::kInt64);
  EXPECT_EQ(state["n"].item<std::int64_t>(), 7);
  EXPECT_EQ(state["empty"].sizes(), (std::vector<std::int64_t>{0, 3}));
  const auto metadata = vfp::models::read_safetensors_metadata(file);
  ASSERT_EQ(metadata.size(), 1u);
  EXPECT_EQ(metadata.at("note"), "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ \n");
}

TEST(Safetensors, CorruptFilesAreInputErrorsNamingTheFileAndTheKey) {
  const std::string w = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\x01');
  struct Case {
    std::string name, bytes;
    std::vector<std::string> parts; ///< besides the file name
  };
  const std::string bad_json = R"({"w":{"dtype":F32}})";
  const std::vector<Case> cases{
      {"truncated", std::string("\x05\x00\x00", 3), {"truncated: 3 bytes"}},
      {"long_header", le64(1000) + "{}", {"header length 1000 goes beyond the end of the file"}},
      {"bad_json",
       safetensors_bytes(bad_json, ""),
       {"bad JSON header at byte " + std::to_string(8 + bad_json.find("F32"))}},
      {"cut_json", safetensors_bytes("{" + w, eight), {"bad JSON header", "end of the header"}},
      {"not_object", safetensors_bytes("[1, 2]", ""), {"must be a JSON object"}},
      {"unknown_dtype",
       safetensors_bytes(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "xx"),
       {"tensor 'w'", "unknown or unsupported dtype 'F8_E4M3'"}},
      {"beyond_data", safetensors_bytes("{" + w + "}", "1234"), {"tensor 'w'", "go beyond"}},
      {"overlap",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         eight + "1234"),
       {"tensors 'a' and 'b' overlap"}},
      {"size_mismatch",
       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
       {"tensor 'w'", "hold 8 bytes, but F32 [3] needs 12"}},
      {"reversed_offsets",
       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight),
       {"tensor 'w'", "data_offsets"}},
      {"negative_shape",
       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
       {"tensor 'w'", "shape"}},
      {"duplicate", safetensors_bytes("{" + w + "," + w + "}", eight), {"duplicate key 'w'"}},
      {"unknown_field",
       safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", eight),
       {"tensor 'w'", "unknown field 'x'"}},
      {"bad_metadata",
       safetensors_bytes(R"({"__metadata__":{"a":1}})", ""),
       {"__metadata__ 'a' must be a string"}},
      {"bad_escape", safetensors_bytes(R"({"\ud800x":{}})", ""), {"surrogate"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto file = scratch() / (c.name + ".safetensors");
    write_bytes(file, c.bytes);
    std::vector<std::string> parts{file.string()};
    parts.insert(parts.end(), c.parts.begin(), c.parts.end());
    try {
      vfp::models::read_weights(file);
      ADD_FAILURE() << "no vfp::InputError";
    } catch (const vfp::InputError& e) {
      for (const auto& p : parts)
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
            << "'" << p << "' not in: " << e.what();
    }
    EXPECT_THROW(vfp::models::read_safetensors_metadata(file), vfp::InputError);
  }
}

TEST(Safetensors, HeaderDecodesEveryJsonEscapeAndNamesABadOneAtItsByte) {
  const auto file = scratch() / "escapes.safetensors";
  write_bytes(file,
              safetensors_bytes(R"({"__metadata__":{"k":"\"\\\/\b\f\n\r\t\u00aF\u00Af"}})", ""));
  EXPECT_EQ(vfp::models::read_safetensors_metadata(file).at("k"),
            "\"\\/\b\f\n\r\t\xc2\xaf\xc2\xaf");

  struct Case {
    std::string name, header, message;
  };
  const std::string bad_escape = R"({"__metadata__":{"k":"\x"}})";
  const std::string bad_hex = R"({"__metadata__":{"k":"\u00g0"}})";
  const std::vector<Case> cases{
      {"bad_escape", bad_escape,
       "bad JSON header at byte " + std::to_string(8 + bad_escape.find("x\"")) +
           ": bad escape: backslash then 'x'"},
      {"bad_hex", bad_hex,
       "bad JSON header at byte " + std::to_string(8 + bad_hex.find('g') + 1) +
           ": bad hex digit in a \\u escape"},
      {"not_object", "[1, 2]", "the header must be a JSON object, not an array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto bad = scratch() / (c.name + ".safetensors");
    write_bytes(bad, safetensors_bytes(c.header, ""));
    try {
      vfp::models::read_safetensors_metadata(bad);
      ADD_FAILURE() << "no vfp::InputError";
    } catch (const vfp::InputError& e) {
      EXPECT_EQ(std::string(e.what()), "safetensors file '" + bad.string() + "': " + c.message);
    }
  }
}

TEST(Safetensors, WritingAnUnsupportedDtypeIsAnInputErrorNamingTheKey) {
  StateDict state;
  state.insert("ok", torch::ones({2}));
  state.insert("shorts", torch::ones({2}, torch::kInt16));
  const auto file = scratch() / "int16.safetensors";
  expect_input_error([&] { vfp::models::write_safetensors(file, state); },
                     {file.string(), "tensor 'shorts'", "cannot write"});
  EXPECT_FALSE(fs::exists(file));
}

TEST(WeightsFile, MissingOrForeignFilesAreInputErrorsNamingTheFile) {
  const auto missing = scratch() / "missing.safetensors";
  expect_input_error([&] { vfp::models::read_weights(missing); },
                     {missing.string(), "does not exist"});
  const auto zip = scratch() / "broken.pt";
  write_bytes(zip, std::string("PK\x03\x04 this is no zip archive"));
  expect_input_error([&] { vfp::models::read_weights(zip); },
                     {zip.string(), "cannot read it as a PyTorch (torch.save) archive"});
  const auto legacy = scratch() / "legacy.pt";
  // What torch.save(..., _use_new_zipfile_serialization=False) starts with.
  write_bytes(legacy,
              std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e\x80", 16));
  expect_input_error([&] { vfp::models::read_weights(legacy); },
                     {legacy.string(), "legacy (pre-1.6) format"});
  // A safetensors file whose header length starts with the same byte 0x80 is no pickle.
  const auto header_128 = scratch() / "header_128.safetensors";
  std::string header = R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  header.resize(128, ' ');
  write_bytes(header_128, safetensors_bytes(header, "\x05"));
  EXPECT_EQ(vfp::models::read_weights(header_128)["w"].item<int>(), 5);
}

TEST(WeightsFile, ReadsTorchSaveArchivesFlatOrNestedInACheckpoint) {
  auto string_dict = [] {
    return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
  };
  // torch::pickle_save writes torch.save's zip format (Python's torch.load reads it); the
  // torchvision test below reads files written by Python itself.
  auto save = [](const fs::path& file, const c10::IValue& value) {
    const auto bytes = torch::pickle_save(value);
    write_bytes(file, std::string(bytes.begin(), bytes.end()));
  };
  c10::Dict<std::string, torch::Tensor> flat;
  flat.insert("conv.weight", torch::arange(6, torch::kFloat64).reshape({2, 3}));
  flat.insert("bn.num_batches_tracked", torch::tensor(4, torch::kInt64));
  const auto flat_file = scratch() / "flat.pt";
  save(flat_file, flat);
  const auto state = vfp::models::read_weights(flat_file);
  ASSERT_EQ(state.keys(), (std::vector<std::string>{"conv.weight", "bn.num_batches_tracked"}));
  EXPECT_EQ(state["conv.weight"].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(
      torch::equal(state["conv.weight"], torch::arange(6, torch::kFloat32).reshape({2, 3})));
  EXPECT_EQ(state["bn.num_batches_tracked"].scalar_type(), torch::kInt64);

  for (const char* under : {"state_dict", "model", "module"}) {
    auto checkpoint = string_dict();
    checkpoint.insert("epoch", 3);
    checkpoint.insert(under, flat);
    const auto file = scratch() / (std::string("checkpoint_") + under + ".pt");
    save(file, checkpoint);
    expect_same_state(vfp::models::read_weights(file), state);
  }

  auto no_state = string_dict();
  no_state.insert("epoch", 3);
  no_state.insert("weights", flat);
  const auto no_state_file = scratch() / "no_state.pt";
  save(no_state_file, no_state);
  expect_input_error([&] { vfp::models::read_weights(no_state_file); },
                     {no_state_file.string(), "'epoch' is int, not a tensor"});

  auto inner = string_dict();
  inner.insert("conv.weight", torch::ones({1}));
  inner.insert("step", 12);
  auto bad_nested = string_dict();
  bad_nested.insert("state_dict", inner);
  const auto bad_nested_file = scratch() / "bad_nested.pt";
  save(bad_nested_file, bad_nested);
  expect_input_error([&] { vfp::models::read_weights(bad_nested_file); },
                     {bad_nested_file.string(), "'step' (under 'state_dict') is int"});

  const auto list_file = scratch() / "list.pt";
  save(list_file, c10::List<torch::Tensor>({torch::ones({1})}));
  expect_input_error([&] { vfp::models::read_weights(list_file); },
                     {list_file.string(), "not a state dict"});
}

TEST(WeightsLoad, StrictLoadListsMissingUnexpectedAndMismatchedKeysAndChangesNothing) {
  torch::manual_seed(3);
  auto model = build("fnet", 1, 1, 4);
  const auto before = clone(vfp::models::state_of(*model));
  auto state = clone(vfp::models::state_of(*build("fnet", 1, 1, 4)));
  state.erase("stage2.1.running_var");
  state.insert("stage9.0.weight", torch::ones({1}));
  state["head.weight"] = torch::ones({3, 32});
  try {
    vfp::models::load_state(*model, state, LoadMode::kStrict, "other.safetensors");
    FAIL() << "no vfp::InputError";
  } catch (const vfp::InputError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("other.safetensors: the weights do not match the model, nothing "
                         "loaded: 0 loaded; ",
                         0),
              0u)
        << what;
    for (const char* part : {"1 missing (in the model, not in the file): stage2.1.running_var",
                             "1 unexpected (in the file, not in the model): stage9.0.weight",
                             "1 with a different shape: head.weight: file [3, 32] vs model [1, "
                             "32]"})
      EXPECT_NE(what.find(part), std::string::npos) << part << " not in: " << what;
  }
  expect_same_state(vfp::models::state_of(*model), before);
}

TEST(WeightsLoad, FilesFromBeforeBatchNormCountedStepsLoadStrictlyWithTheCountersReset) {
  // torchvision's original ImageNet files (PyTorch < 0.4.1) carry running_mean/var but no
  // num_batches_tracked; PyTorch's loader accepts them, so must we.
  auto model = build("fnet", 1, 1, 4);
  model->train();
  model->forward(torch::randn({2, 1, 32, 32})); // counters now 1
  auto state = clone(vfp::models::state_of(*build("fnet", 1, 1, 4)));
  std::vector<std::string> dropped;
  for (const auto& item : vfp::models::state_of(*model))
    if (item.key().find("num_batches_tracked") != std::string::npos)
      dropped.push_back(item.key());
  ASSERT_EQ(dropped.size(), 4u);
  for (const auto& key : dropped)
    state.erase(key);
  const auto report = vfp::models::load_state(*model, state, LoadMode::kStrict, "old.pth");
  EXPECT_TRUE(report.complete()) << report.describe();
  EXPECT_EQ(report.defaulted, dropped);
  for (const auto& key : dropped)
    EXPECT_EQ(vfp::models::state_of(*model)[key].item<std::int64_t>(), 0) << key;
  // Without its running statistics a batch norm is a missing layer, not an old file.
  state.erase("stage1.1.running_mean");
  expect_input_error([&] { vfp::models::load_state(*model, state, LoadMode::kStrict, "old.pth"); },
                     {"2 missing (in the model, not in the file): stage1.1.running_mean, "
                      "stage1.1.num_batches_tracked"});
}

TEST(WeightsLoad, StrictMessageNamesEveryKeyExactly) {
  Tiny tiny;
  StateDict state;
  state.insert("w", torch::ones({3}));
  state.insert("extra", torch::ones({1}));
  expect_input_error(
      [&] { vfp::models::load_state(tiny, state, LoadMode::kStrict, "model.pt"); },
      {"model.pt: the weights do not match the model, nothing loaded: 0 loaded; 1 missing (in "
       "the model, not in the file): b; 1 unexpected (in the file, not in the model): extra; 1 "
       "with a different shape: w: file [3] vs model [2]"});
  EXPECT_TRUE(torch::equal(tiny.w, torch::tensor({1.0f, 2.0f})));
}

TEST(WeightsLoad, NonStrictLoadCopiesWhatMatchesAndReportsTheRest) {
  torch::manual_seed(4);
  auto model = build("fnet", 1, 1, 4);
  const auto before = clone(vfp::models::state_of(*model));
  auto source = clone(vfp::models::state_of(*build("fnet", 1, 1, 4)));
  source["stage1.1.num_batches_tracked"].fill_(9);
  source.erase("stage2.1.running_var");
  source.insert("extra", torch::ones({1}));
  source["head.weight"] = torch::ones({3, 32});
  const auto report = vfp::models::load_state(*model, source, LoadMode::kNonStrict, "src");
  EXPECT_EQ(report.missing, (std::vector<std::string>{"stage2.1.running_var"}));
  EXPECT_EQ(report.unexpected, (std::vector<std::string>{"extra"}));
  EXPECT_EQ(report.mismatched,
            (std::vector<std::string>{"head.weight: file [3, 32] vs model [1, 32]"}));
  EXPECT_EQ(report.loaded, before.size() - 2);
  EXPECT_FALSE(report.complete());
  const auto after = vfp::models::state_of(*model);
  for (const auto& item : after) {
    const bool kept = item.key() == "stage2.1.running_var" || item.key() == "head.weight";
    EXPECT_TRUE(torch::equal(item.value(), kept ? before[item.key()] : source[item.key()]))
        << item.key();
  }
  EXPECT_EQ(after["stage1.1.num_batches_tracked"].item<std::int64_t>(), 9);
}

TEST(KeyMap, RenamesWithGroupsDropsAndKeepsUnmatchedKeysFirstRuleWinning) {
  const auto file = scratch() / "timm.keymap";
  write_bytes(file, "# timm's names onto ours\n"
                    "\n"
                    "^module\\.head\\.fc\\.(weight|bias)$ => fc.$1   # the head\n"
                    "   module\\.(.*)\\.num_batches_tracked => DROP\n"
                    "module\\.(stem)\\.(conv|bn)\\.(.*) => $2$1.$3\n"
                    "module\\.(.*) => $1\n"
                    "module\\.never\\.(.*) => unused.$1\n");
  const auto map = vfp::models::read_key_map(file);
  ASSERT_EQ(map.rules.size(), 5u);
  EXPECT_EQ(map.rules[1].replacement, "");
  EXPECT_EQ(map.rules[1].line, 4);
  EXPECT_EQ(map.file, file);

  StateDict state;
  for (const char* key :
       {"module.stem.conv.weight", "module.stem.bn.num_batches_tracked", "module.stem.bn.bias",
        "module.layer1.0.conv1.weight", "module.head.fc.weight", "module.head.fc.bias",
        "module.never.x", "other"})
    state.insert(key, torch::ones({1}));
  const auto mapped = vfp::models::apply_key_map(map, state);
  EXPECT_EQ(mapped.keys(),
            (std::vector<std::string>{"convstem.weight", "bnstem.bias", "layer1.0.conv1.weight",
                                      "fc.weight", "fc.bias", "never.x", "other"}));
  EXPECT_EQ(mapped["fc.bias"].data_ptr(), state["module.head.fc.bias"].data_ptr());
}

TEST(KeyMap, MalformedLinesAndBadRegexesAreInputErrorsWithFileAndLine) {
  const auto file = scratch() / "bad.keymap";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a => b\n# fine\nno arrow here\n", ":3: expected '<regex> => <replacement>'"},
      {"a => b\n => c\n", ":2: the regex before '=>' is empty"},
      {"a =>   # nothing\n", ":1: the replacement after '=>' is empty"},
      {"a => b c\n", ":1: the replacement 'b c' is not one key name"},
      {"\n\nmodule\\.(.* => $1\n", ":3: bad regex 'module\\.(.*'"},
  };
  for (const auto& [text, message] : cases) {
    write_bytes(file, text);
    expect_input_error([&] { vfp::models::read_key_map(file); },
                       {"key map " + file.string() + message});
  }
  const auto missing = scratch() / "missing.keymap";
  expect_input_error([&] { vfp::models::read_key_map(missing); },
                     {missing.string(), "does not exist"});
}

TEST(KeyMap, TwoKeysRenamedOntoOneNameAreAnInputErrorNamingBoth) {
  const auto file = scratch() / "collide.keymap";
  write_bytes(file, "(encoder|backbone)\\.(.*) => $2\n");
  const auto map = vfp::models::read_key_map(file);
  StateDict state;
  state.insert("encoder.conv.weight", torch::ones({1}));
  state.insert("backbone.conv.weight", torch::ones({1}));
  expect_input_error([&] { vfp::models::apply_key_map(map, state); },
                     {"key map " + file.string() +
                      ": 'encoder.conv.weight' and 'backbone.conv.weight' both become "
                      "'conv.weight'"});
  // A renamed key onto one that no rule touched collides too.
  StateDict kept;
  kept.insert("conv.weight", torch::ones({1}));
  kept.insert("encoder.conv.weight", torch::ones({1}));
  expect_input_error([&] { vfp::models::apply_key_map(map, kept); },
                     {"'conv.weight' and 'encoder.conv.weight' both become 'conv.weight'"});
}

// A checkpoint as training scripts write it (optimizer state, argparse and numpy objects,
// sets, half precision, a Parameter, views sharing one storage), saved by Python's
// torch.save with pickle protocols 2 and 4, gives the state dict Python wrote beside it.
TEST(WeightsFile, ReadsPythonTrainingCheckpointsUnderStateDict) {
  const auto dir = scratch() / "checkpoints";
  ASSERT_TRUE(run_reference_script(dir, "checkpoints")) << reference_script_failure;
  const auto expected = vfp::models::read_weights(dir / "checkpoint_expected.safetensors");
  ASSERT_EQ(expected.size(), 9u);
  for (const char* name : {"checkpoint_p2.pt", "checkpoint_p4.pt"}) {
    SCOPED_TRACE(name);
    const auto state = vfp::models::read_weights(dir / name);
    expect_same_state(state, expected);
    EXPECT_EQ(state["transposed"].sizes(), (std::vector<std::int64_t>{6, 4}));
    EXPECT_EQ(state["count"].scalar_type(), torch::kInt64);
  }
}

// torchvision's resnet18, resnet50 and densenet121 (random weights, randomised batch norm
// statistics) written by Python as safetensors and torch.save files: our models load them
// strictly and give torchvision's eval-mode output.
TEST(TorchvisionWeights, TorchvisionWeightsGiveTorchvisionsOutput) {
  const auto dir = scratch() / "torchvision";
  ASSERT_TRUE(run_reference_script(dir, "")) << reference_script_failure;
  torch::NoGradGuard no_grad;
  for (const char* arch : {"resnet18", "resnet50", "densenet121"}) {
    SCOPED_TRACE(arch);
    vfp::models::ModelSpec spec;
    spec.arch = arch;
    spec.dims = 2;
    spec.in_channels = 3;
    spec.outputs = 1000;
    spec.dropout = 0.0;
    auto model = vfp::models::make_model(spec);
    const auto file = dir / (std::string(arch) + ".safetensors");
    const auto state = vfp::models::read_weights(file);
    const auto report = vfp::models::load_state(*model, state, LoadMode::kStrict, file.string());
    EXPECT_TRUE(report.complete()) << report.describe();

    const auto io = vfp::models::read_weights(dir / (std::string(arch) + "_io.safetensors"));
    model->eval();
    const auto out = model->forward(io["input"]);
    ASSERT_EQ(out.sizes(), io["output"].sizes());
    EXPECT_GT(io["output"].std().item<double>(), 0.05); // a spread the tolerance can see
    const auto diff = (out - io["output"]).abs().max().item<double>();
    std::cout << "[          ] " << arch << ": max |ours - torchvision| = " << diff << "\n";
    EXPECT_LT(diff, 1e-4);

    expect_same_state(vfp::models::read_weights(dir / (std::string(arch) + ".pt")), state);
    if (std::string(arch) == "resnet18")
      expect_same_state(vfp::models::read_weights(dir / "resnet18_checkpoint.pt"), state);
  }
}
