// The pickle interpreter's understanding of what torch.save writes: the classes it reduces
// (OrderedDict, rebuilt tensors and parameters, LibTorch's typed wrappers) and its storages,
// persistent ids naming records of the zip archive (pickle.h).
#include "models/pickle.h"

#include <caffe2/serialize/inline_container.h>

#include <limits>
#include <stdexcept>

namespace vfp::models::pickle {
namespace {

torch::ScalarType storage_dtype(const std::string& global) {
  static const std::map<std::string, torch::ScalarType> types{
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  const auto found = types.find(global);
  if (found == types.end())
    throw std::runtime_error("unsupported storage type " + global);
  return found->second;
}

const PyValue& arg(const PyValue& args, std::size_t i, PyValue::Kind kind, const char* what) {
  if (args.kind != PyValue::kTuple || args.items.size() <= i || args.items[i]->kind != kind)
    throw std::runtime_error(std::string("bad argument ") + std::to_string(i) + " (" + what + ")");
  return *args.items[i];
}

std::vector<std::int64_t> ints(const PyValue& tuple) {
  std::vector<std::int64_t> out;
  for (const auto& v : tuple.items) {
    if (v->kind != PyValue::kInt)
      throw std::runtime_error("a size or stride that is not an integer");
    out.push_back(v->integer);
  }
  return out;
}

} // namespace

PyRef Unpickler::reduce(const PyValue& callable, const PyValue& args) {
  const auto& name = callable.text;
  if (callable.kind != PyValue::kGlobal) { // e.g. a method of an opaque object
    auto object = make(PyValue::kObject);
    object->text = "object";
    return object;
  }
  if (name == "collections.OrderedDict" || name == "builtins.dict") {
    auto d = make(PyValue::kDict);
    if (args.kind == PyValue::kTuple && !args.items.empty())
      for (const auto& pair : args.items[0]->items)
        if (pair->items.size() == 2)
          d->set(pair->items[0], pair->items[1]);
    return d;
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
    return rebuild_tensor(args);
  if (name == "torch._utils._rebuild_parameter" ||
      name == "torch._utils._rebuild_parameter_with_state") {
    arg(args, 0, PyValue::kTensor, "data");
    return args.items[0];
  }
  // LibTorch's pickler wraps typed lists and dicts in these.
  if (name.rfind("torch.jit._pickle.", 0) == 0 && args.kind == PyValue::kTuple &&
      !args.items.empty())
    return args.items[0];
  auto object = make(PyValue::kObject);
  object->text = name;
  return object;
}

// (storage, offset, size, stride, ...) → a meta view of the storage, checked to lie in it.
PyRef Unpickler::rebuild_tensor(const PyValue& args) {
  const auto& storage = arg(args, 0, PyValue::kTensor, "storage");
  const auto offset = arg(args, 1, PyValue::kInt, "storage offset").integer;
  const auto size = ints(arg(args, 2, PyValue::kTuple, "size"));
  const auto stride = ints(arg(args, 3, PyValue::kTuple, "stride"));
  if (size.size() != stride.size())
    throw std::runtime_error("size and stride differ in length");
  // Every element must lie in the storage; sizes along stride-0 axes (expand()) are
  // bounded too, so that converting the view cannot allocate without limit.
  const std::int64_t numel = storage.tensor.numel();
  constexpr std::int64_t kMaxElements = std::int64_t(1) << 40;
  bool empty = false;
  for (const auto n : size)
    empty = empty || n == 0;
  std::int64_t last = offset, elements = 1;
  for (std::size_t i = 0; i < size.size(); ++i) {
    if (size[i] < 0 || stride[i] < 0)
      throw std::runtime_error("a negative size or stride");
    if (empty || size[i] <= 1)
      continue;
    if (elements > kMaxElements / size[i])
      throw std::runtime_error("a tensor of more than 2^40 elements");
    elements *= size[i];
    if (stride[i] > 0 && (last >= numel || size[i] - 1 > (numel - 1 - last) / stride[i]))
      throw std::runtime_error("a tensor beyond the end of its storage");
    last += (size[i] - 1) * stride[i];
  }
  if (offset < 0 || (!empty && last >= numel))
    throw std::runtime_error("a tensor beyond the end of its storage");
  auto v = make(PyValue::kTensor);
  v->tensor = empty ? torch::empty(size, storage.tensor.options())
                    : storage.tensor.as_strided(size, stride, offset);
  v->record = storage.record;
  return v;
}

// ('storage', torch.<Type>Storage, key, location, numel) → a 1-D meta tensor of numel
// elements standing for the record data/<key> (read by torch_archive.cpp when wanted), shared
// by the tensors viewing it.
PyRef Unpickler::storage(const PyValue& pid) {
  if (pid.kind != PyValue::kTuple || pid.items.size() < 5 ||
      pid.items[0]->kind != PyValue::kString || pid.items[0]->text != "storage")
    throw std::runtime_error("a persistent id that is not a storage");
  const auto dtype = storage_dtype(arg(pid, 1, PyValue::kGlobal, "storage type").text);
  const auto key = arg(pid, 2, PyValue::kString, "key").text;
  const auto numel = arg(pid, 4, PyValue::kInt, "numel").integer;
  const auto cached = storages_.find(key);
  if (cached != storages_.end())
    return cached->second;
  const std::string record = "data/" + key;
  if (!archive_.hasRecord(record))
    throw std::runtime_error("the archive has no record " + record);
  const auto element = std::int64_t(c10::elementSize(dtype));
  if (numel < 0 || numel > std::numeric_limits<std::int64_t>::max() / element)
    throw std::runtime_error("storage " + key + " of " + std::to_string(numel) + " elements");
  auto v = make(PyValue::kTensor);
  v->tensor = torch::empty({numel}, torch::TensorOptions().dtype(dtype).device(torch::kMeta));
  v->record = record;
  storages_[key] = v;
  return v;
}

} // namespace vfp::models::pickle
