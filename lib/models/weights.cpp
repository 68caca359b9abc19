// State dicts: a model's named tensors, weight files recognised by content (safetensors or
// torch.save's zip archive), and loading a state dict into a model, strictly or not.
#include "models/models.h"

#include "core/core.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

namespace vfp::models {
namespace detail {
/// Which tensors of a file to read, by the file's key; the others come back as meta tensors.
using Wanted = std::function<bool(const std::string& key)>;
/// In safetensors.cpp: every tensor of a safetensors file, floating point ones as float32;
/// those not `wanted` as meta tensors of that shape and dtype, their bytes not read.
StateDict read_safetensors(const std::filesystem::path& file, const Wanted& wanted);
} // namespace detail

namespace {

std::string where(const std::filesystem::path& file) {
  return "weight file '" + file.string() + "': ";
}

bool little_endian_host() {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

std::string shape_text(c10::IntArrayRef shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : separator) + s;
  return out;
}

// The first line of a LibTorch error, without its C++ backtrace.
std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string what = c10 ? c10->what_without_backtrace() : e.what();
  const auto end = what.find('\n');
  return end == std::string::npos ? what : what.substr(0, end);
}

// ---- torch.save's format: a zip archive holding data.pkl (a pickle) and data/<key> storages ----
//
// LibTorch's own torch::pickle_load cannot read Python's OrderedDict, which is what
// model.state_dict() returns (pytorch/pytorch#100741, fixed in LibTorch 2.6 only), so the
// pickle is interpreted here. Only the opcodes and classes torch.save emits are understood;
// any other class becomes an opaque object, an error only where a tensor or dict is needed.
//
// No storage is read while the pickle is: a tensor comes out as a meta tensor (shape, dtype,
// no data) naming its record, read only when the caller wants that tensor, so that a file
// whose tensors do not fit the model is refused before its data is read. Nesting is limited
// to kMaxPickleDepth levels; values, memo, stack and marks to kMaxPickleValues entries each
// (a PyValue is ~200 bytes: ~400 MB at most; a state dict takes ~25 values a tensor). The
// Unpickler owns every value it makes and empties them all before they go, so that no
// destructor recurses down a deep structure (10⁶ nested lists overflowed the stack) and
// cycles made through the memo are broken.

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

constexpr int kMaxPickleDepth = 1000;
constexpr std::size_t kMaxPickleValues = std::size_t(1) << 21;

struct PyValue {
  enum Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kBytes,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kObject,
    kTensor
  };
  Kind kind = kNone;
  std::int64_t integer = 0; ///< kBool, kInt
  double number = 0;        ///< kFloat
  std::string text;         ///< kString, kBytes; "module.name" of kGlobal and kObject
  std::vector<PyRef> items; ///< kTuple, kList
  std::vector<std::pair<PyRef, PyRef>> entries; ///< kDict, in insertion order
  std::map<std::string, std::size_t> index;     ///< kDict: string key → entry
  torch::Tensor tensor; ///< kTensor, on the meta device (a storage is a 1-D tensor)
  std::string record;   ///< kTensor: the zip record holding its storage ("data/0")
  int depth = 1;        ///< levels of nesting, this value's included (only ever grows)

  /// Notes that this value now holds `child`. A container changed after it was put in
  /// another (through the memo) leaves the outer one's depth behind: the limit is for the
  /// plain nested pickle, the Unpickler's teardown keeps any depth safe.
  void hold(const PyValue& child) {
    if (child.depth < depth)
      return;
    if (child.depth >= kMaxPickleDepth)
      throw std::runtime_error("the pickle nests deeper than " + std::to_string(kMaxPickleDepth) +
                               " levels");
    depth = child.depth + 1;
  }
  [[nodiscard]] std::string type() const {
    static const char* names[] = {"None",  "bool", "int",  "float", "str",    "bytes",
                                  "tuple", "list", "dict", "class", "object", "tensor"};
    return kind == kObject || kind == kGlobal ? text : names[kind];
  }
  void set(const PyRef& key, const PyRef& value) {
    hold(*key);
    hold(*value);
    if (key->kind == kString) {
      const auto [it, fresh] = index.emplace(key->text, entries.size());
      if (!fresh) {
        entries[it->second].second = value;
        return;
      }
    }
    entries.emplace_back(key, value);
  }
};

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

class Unpickler {
public:
  Unpickler(const std::string& pickle, caffe2::serialize::PyTorchStreamReader& archive)
      : data_(pickle), archive_(archive) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;
  /// Every value it made is still held by made_: emptied one by one, none is destroyed while
  /// holding others, so nothing recurses. (The value run() returned is emptied too: use it
  /// before the Unpickler goes.)
  ~Unpickler() {
    for (const auto& v : made_) {
      v->items.clear();
      v->entries.clear();
    }
  }

  PyRef run() {
    while (true) {
      const auto at = pos_;
      const auto op = byte();
      try {
        if (step(op))
          break;
      } catch (const std::runtime_error& e) {
        throw std::runtime_error("pickle opcode 0x" + hex(op) + " at byte " + std::to_string(at) +
                                 ": " + e.what());
      }
    }
    if (stack_.size() != 1)
      throw std::runtime_error("pickle ends with " + std::to_string(stack_.size()) +
                               " values on its stack");
    return stack_.back();
  }

private:
  static void limit(std::size_t size, const char* what) {
    if (size >= kMaxPickleValues)
      throw std::runtime_error("the pickle has more than " + std::to_string(kMaxPickleValues) +
                               " " + what);
  }
  PyRef make(PyValue::Kind kind) {
    limit(made_.size(), "values");
    auto v = std::make_shared<PyValue>();
    v->kind = kind;
    made_.push_back(v);
    return v;
  }
  static std::string hex(unsigned char c) {
    static const char* digits = "0123456789abcdef";
    return {digits[c >> 4], digits[c & 0xF]};
  }
  unsigned char byte() {
    need(1);
    return static_cast<unsigned char>(data_[pos_++]);
  }
  void need(std::size_t n) const {
    if (n > data_.size() - pos_)
      throw std::runtime_error("the pickle ends early");
  }
  std::uint64_t little(std::size_t n) {
    need(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v |= std::uint64_t(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::string bytes(std::uint64_t n) {
    need(n);
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string::npos)
      throw std::runtime_error("the pickle ends early");
    std::string s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  PyRef pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back()))
      throw std::runtime_error("pops an empty stack");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyRef& top() {
    if (stack_.empty())
      throw std::runtime_error("reads an empty stack");
    return stack_.back();
  }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty())
      throw std::runtime_error("no mark on the stack");
    std::vector<PyRef> items(stack_.begin() + std::ptrdiff_t(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  void push(PyRef v) {
    limit(stack_.size(), "values on its stack");
    stack_.push_back(std::move(v));
  }
  void push_int(std::int64_t n) {
    auto v = make(PyValue::kInt);
    v->integer = n;
    push(v);
  }
  void push_string(std::string s, PyValue::Kind kind = PyValue::kString) {
    auto v = make(kind);
    v->text = std::move(s);
    push(v);
  }
  void push_sequence(PyValue::Kind kind, std::vector<PyRef> items) {
    auto v = make(kind);
    for (const auto& item : items)
      v->hold(*item);
    v->items = std::move(items);
    push(v);
  }
  void memo_put(std::uint64_t id) {
    if (!memo_.count(id))
      limit(memo_.size(), "memo entries");
    memo_[id] = top();
  }
  void memo_get(std::uint64_t id) {
    const auto found = memo_.find(id);
    if (found == memo_.end())
      throw std::runtime_error("memo entry " + std::to_string(id) + " is not defined");
    push(found->second);
  }
  PyRef& dict_on_top(const char* op) {
    auto& d = top();
    if (d->kind != PyValue::kDict)
      throw std::runtime_error(std::string(op) + " on " + d->type() + ", not a dict");
    return d;
  }

  // Returns true at STOP.
  bool step(unsigned char op) {
    switch (op) {
    case 0x80: // PROTO
      byte();
      break;
    case 0x95: // FRAME
      little(8);
      break;
    case '.': // STOP
      return true;
    case '(': // MARK
      limit(marks_.size(), "marks");
      marks_.push_back(stack_.size());
      break;
    case '0': // POP
      pop();
      break;
    case '1': // POP_MARK
      pop_mark();
      break;
    case '2': // DUP
      push(top());
      break;
    case 'N':
      push(make(PyValue::kNone));
      break;
    case 0x88: // NEWTRUE
    case 0x89: // NEWFALSE
    {
      auto v = make(PyValue::kBool);
      v->integer = op == 0x88;
      push(v);
      break;
    }
    case 'J': // BININT
      push_int(std::int32_t(std::uint32_t(little(4))));
      break;
    case 'K': // BININT1
      push_int(std::int64_t(little(1)));
      break;
    case 'M': // BININT2
      push_int(std::int64_t(little(2)));
      break;
    case 0x8a: // LONG1
    case 0x8b: // LONG4
    {
      const auto n = little(op == 0x8a ? 1 : 4);
      if (n > 8)
        throw std::runtime_error("integer wider than 64 bits");
      std::uint64_t v = little(std::size_t(n));
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) // sign-extend
        v |= ~std::uint64_t(0) << (8 * n);
      push_int(std::int64_t(v));
      break;
    }
    case 'G': // BINFLOAT, big-endian
    {
      need(8);
      std::uint64_t bits = 0;
      for (int i = 0; i < 8; ++i)
        bits = (bits << 8) | static_cast<unsigned char>(data_[pos_ + std::size_t(i)]);
      pos_ += 8;
      auto v = make(PyValue::kFloat);
      std::memcpy(&v->number, &bits, 8);
      push(v);
      break;
    }
    case 'X': // BINUNICODE
      push_string(bytes(little(4)));
      break;
    case 0x8c: // SHORT_BINUNICODE
      push_string(bytes(little(1)));
      break;
    case 0x8d: // BINUNICODE8
      push_string(bytes(little(8)));
      break;
    case 'T': // BINSTRING (Python 2)
      push_string(bytes(little(4)));
      break;
    case 'U': // SHORT_BINSTRING (Python 2)
      push_string(bytes(little(1)));
      break;
    case 'B': // BINBYTES
      push_string(bytes(little(4)), PyValue::kBytes);
      break;
    case 'C': // SHORT_BINBYTES
      push_string(bytes(little(1)), PyValue::kBytes);
      break;
    case ')': // EMPTY_TUPLE
      push_sequence(PyValue::kTuple, {});
      break;
    case 't': // TUPLE
      push_sequence(PyValue::kTuple, pop_mark());
      break;
    case 0x85: // TUPLE1
    case 0x86: // TUPLE2
    case 0x87: // TUPLE3
    {
      std::vector<PyRef> items(std::size_t(op - 0x84));
      for (auto i = items.size(); i-- > 0;)
        items[i] = pop();
      push_sequence(PyValue::kTuple, std::move(items));
      break;
    }
    case ']': // EMPTY_LIST
      push_sequence(PyValue::kList, {});
      break;
    case 'l': // LIST
      push_sequence(PyValue::kList, pop_mark());
      break;
    case 'a': // APPEND
    {
      auto v = pop();
      top()->hold(*v);
      top()->items.push_back(std::move(v));
      break;
    }
    case 'e': // APPENDS
    {
      auto items = pop_mark();
      auto& list = top();
      for (const auto& item : items)
        list->hold(*item);
      list->items.insert(list->items.end(), items.begin(), items.end());
      break;
    }
    case '}': // EMPTY_DICT
      push(make(PyValue::kDict));
      break;
    case 'd': // DICT
    {
      auto items = pop_mark();
      push(make(PyValue::kDict));
      for (std::size_t i = 0; i + 1 < items.size(); i += 2)
        top()->set(items[i], items[i + 1]);
      break;
    }
    case 's': // SETITEM
    {
      auto value = pop();
      auto key = pop();
      dict_on_top("SETITEM")->set(key, value);
      break;
    }
    case 'u': // SETITEMS
    {
      auto items = pop_mark();
      if (items.size() % 2)
        throw std::runtime_error("SETITEMS with an odd number of values");
      auto& d = dict_on_top("SETITEMS");
      for (std::size_t i = 0; i + 1 < items.size(); i += 2)
        d->set(items[i], items[i + 1]);
      break;
    }
    case 0x8f: // EMPTY_SET
      push_string("set", PyValue::kObject);
      break;
    case 0x90: // ADDITEMS
      pop_mark();
      break;
    case 0x91: // FROZENSET
      pop_mark();
      push_string("frozenset", PyValue::kObject);
      break;
    case 'c': // GLOBAL
    {
      auto module = line();
      push_string(module + "." + line(), PyValue::kGlobal);
      break;
    }
    case 0x93: // STACK_GLOBAL
    {
      auto name = pop();
      auto module = pop();
      push_string(module->text + "." + name->text, PyValue::kGlobal);
      break;
    }
    case 'R': // REDUCE
    {
      auto args = pop();
      auto callable = pop();
      push(reduce(*callable, *args));
      break;
    }
    case 0x81: // NEWOBJ
    {
      pop();
      push_string(pop()->text, PyValue::kObject);
      break;
    }
    case 0x92: // NEWOBJ_EX
    {
      pop();
      pop();
      push_string(pop()->text, PyValue::kObject);
      break;
    }
    case 'b': // BUILD: an object's state; OrderedDict's _metadata and opaque ones are ignored
      pop();
      top();
      break;
    case 'Q': // BINPERSID
      push(storage(*pop()));
      break;
    case 'q': // BINPUT
      memo_put(little(1));
      break;
    case 'r': // LONG_BINPUT
      memo_put(little(4));
      break;
    case 'p': // PUT
      memo_put(std::stoull(line()));
      break;
    case 0x94: // MEMOIZE
      memo_put(memo_.size());
      break;
    case 'h': // BINGET
      memo_get(little(1));
      break;
    case 'j': // LONG_BINGET
      memo_get(little(4));
      break;
    case 'g': // GET
      memo_get(std::stoull(line()));
      break;
    default:
      throw std::runtime_error("unsupported by vfp's reader of torch.save files");
    }
    return false;
  }

  static const PyValue& arg(const PyValue& args, std::size_t i, PyValue::Kind kind,
                            const char* what) {
    if (args.kind != PyValue::kTuple || args.items.size() <= i || args.items[i]->kind != kind)
      throw std::runtime_error(std::string("bad argument ") + std::to_string(i) + " (" + what +
                               ")");
    return *args.items[i];
  }
  static std::vector<std::int64_t> ints(const PyValue& tuple) {
    std::vector<std::int64_t> out;
    for (const auto& v : tuple.items) {
      if (v->kind != PyValue::kInt)
        throw std::runtime_error("a size or stride that is not an integer");
      out.push_back(v->integer);
    }
    return out;
  }

  PyRef reduce(const PyValue& callable, const PyValue& args) {
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
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
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

  // ('storage', torch.<Type>Storage, key, location, numel) → a 1-D meta tensor of numel
  // elements standing for the record data/<key> (read by read_storage when wanted), shared
  // by the tensors viewing it.
  PyRef storage(const PyValue& pid) {
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

  const std::string& data_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  std::size_t pos_ = 0;
  std::vector<PyRef> stack_;
  std::vector<std::size_t> marks_;
  std::map<std::uint64_t, PyRef> memo_;
  std::map<std::string, PyRef> storages_;
  std::vector<PyRef> made_; ///< every value made, for the teardown
};

// The bytes of `record` as a CPU tensor of `numel` elements of `dtype`, the record's buffer
// becoming its storage (no copy).
torch::Tensor read_storage(caffe2::serialize::PyTorchStreamReader& archive,
                           const std::string& record, torch::ScalarType dtype, std::int64_t numel) {
  auto [bytes, size] = archive.getRecord(record);
  if (size != std::size_t(numel) * c10::elementSize(dtype))
    throw std::runtime_error("record " + record + " holds " + std::to_string(size) +
                             " bytes, not " + std::to_string(numel) + " elements of " +
                             std::string(c10::toString(dtype)));
  c10::Storage storage(c10::Storage::use_byte_size_t(), size, std::move(bytes), nullptr, false);
  const bool boolean = dtype == torch::kBool; // any nonzero byte is true, as in NumPy
  auto t = torch::empty({0}, torch::TensorOptions().dtype(boolean ? torch::kUInt8 : dtype));
  t.set_(storage, 0, {numel}, {1});
  return boolean ? t.ne(0) : t;
}

// The state dict in `dict`: the wanted tensors read from `archive`, the others meta tensors.
StateDict tensors_of(const std::filesystem::path& file, const PyValue& dict,
                     const std::string& under, caffe2::serialize::PyTorchStreamReader& archive,
                     const detail::Wanted& wanted) {
  StateDict state;
  std::map<std::string, torch::Tensor> storages; // record → its bytes, read once
  for (const auto& [k, v] : dict.entries) {
    if (k->kind != PyValue::kString)
      throw InputError(where(file) + "state dict" + under + " has a key of type " + k->type() +
                       ", not a string");
    if (v->kind != PyValue::kTensor)
      throw InputError(where(file) + "'" + k->text + "'" + under + " is " + v->type() +
                       ", not a tensor");
    auto t = v->tensor;
    if (wanted(k->text)) {
      try {
        if (t.numel() == 0) {
          t = torch::empty(t.sizes(), t.options().device(torch::kCPU));
        } else {
          auto& s = storages[v->record];
          if (!s.defined())
            s = read_storage(archive, v->record, t.scalar_type(),
                             std::int64_t(t.storage().nbytes() / t.element_size()));
          t = s.as_strided(t.sizes(), t.strides(), t.storage_offset());
        }
      } catch (const std::exception& e) {
        throw InputError(where(file) + "'" + k->text + "'" + under +
                         ": cannot read its data: " + first_line(e));
      }
    }
    if (t.is_floating_point())
      t = t.to(torch::kFloat32);
    state.insert(k->text, std::move(t));
  }
  return state;
}

StateDict read_torch_archive(const std::filesystem::path& file, const detail::Wanted& wanted) {
  if (!little_endian_host())
    throw InputError(where(file) + "reading torch.save archives needs a little-endian machine");
  const std::string unreadable = where(file) + "cannot read it as a PyTorch (torch.save) archive: ";
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  std::string pickle;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(file.string());
    if (archive->hasRecord("byteorder")) {
      auto [bytes, size] = archive->getRecord("byteorder");
      if (std::string(static_cast<const char*>(bytes.get()), size) != "little")
        throw std::runtime_error("saved on a big-endian machine");
    }
    if (!archive->hasRecord("data.pkl"))
      throw std::runtime_error("no data.pkl (a TorchScript module rather than torch.save?)");
    auto [bytes, size] = archive->getRecord("data.pkl");
    pickle.assign(static_cast<const char*>(bytes.get()), size);
  } catch (const std::exception& e) {
    throw InputError(unreadable + first_line(e));
  }
  Unpickler unpickler(pickle, *archive); // owns the values: root is used before it goes
  PyRef root;
  try {
    root = unpickler.run();
  } catch (const std::exception& e) {
    throw InputError(unreadable + first_line(e));
  }
  if (root->kind != PyValue::kDict)
    throw InputError(where(file) + "holds " + root->type() +
                     ", not a state dict (a dict of tensors)");
  // A training checkpoint keeps the state dict under one of these names beside entries such
  // as "epoch" or "optimizer", which are ignored.
  for (const char* name : {"state_dict", "model", "module"}) {
    const auto found = root->index.find(name);
    if (found != root->index.end() && root->entries[found->second].second->kind == PyValue::kDict)
      return tensors_of(file, *root->entries[found->second].second,
                        std::string(" (under '") + name + "')", *archive, wanted);
  }
  return tensors_of(file, *root, "", *archive, wanted);
}

} // namespace

StateDict state_of(const torch::nn::Module& model) {
  StateDict state;
  for (const auto& p : model.named_parameters(/*recurse=*/true))
    state.insert(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true))
    state.insert(b.key(), b.value());
  return state;
}

namespace detail {

/// read_weights, reading only the `wanted` tensors (by the file's keys); the others come back
/// as meta tensors of the shape and dtype read_weights would give, their bytes not read. The
/// header (or pickle) is checked in full either way.
StateDict read_weights(const std::filesystem::path& file, const Wanted& wanted) {
  require_regular_file(file, "weight file");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(where(file) +
                     (std::filesystem::exists(file) ? "cannot be opened" : "does not exist"));
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  const auto got = in.gcount();
  in.close();
  if (got == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == '\x03' && magic[3] == '\x04')
    return read_torch_archive(file, wanted);
  // torch.save before PyTorch 1.6 (or with _use_new_zipfile_serialization=False) writes a
  // bare pickle stream starting with its magic number (PROTO 2, LONG1 of 10 bytes), which
  // is not supported. (A safetensors header length never starts so: it would be ~177 MB.)
  if (got == 4 && magic[0] == '\x80' && magic[1] == '\x02' && magic[2] == '\x8a' &&
      magic[3] == '\x0a')
    throw InputError(where(file) +
                     "is in PyTorch's legacy (pre-1.6) format; re-save it with torch.save in "
                     "PyTorch >= 1.6 or convert it to safetensors");
  return read_safetensors(file, wanted);
}

} // namespace detail

StateDict read_weights(const std::filesystem::path& file) {
  return detail::read_weights(file, [](const std::string&) { return true; });
}

std::string LoadReport::describe() const {
  if (complete())
    return "all " + std::to_string(loaded) + " tensors loaded";
  std::vector<std::string> parts{std::to_string(loaded) + " loaded"};
  if (!missing.empty())
    parts.push_back(std::to_string(missing.size()) +
                    " missing (in the model, not in the file): " + join(missing, ", "));
  if (!unexpected.empty())
    parts.push_back(std::to_string(unexpected.size()) +
                    " unexpected (in the file, not in the model): " + join(unexpected, ", "));
  if (!mismatched.empty())
    parts.push_back(std::to_string(mismatched.size()) +
                    " with a different shape: " + join(mismatched, "; "));
  return join(parts, "; ");
}

namespace {

bool is_old_batch_norm_counter(const std::string& key, const StateDict& state) {
  const std::string suffix = "num_batches_tracked";
  if (key.size() < suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix))
    return false;
  return state.contains(key.substr(0, key.size() - suffix.size()) + "running_mean");
}

using Copies = std::vector<std::pair<torch::Tensor, torch::Tensor>>; // (model's, file's)

/// What loading `state` into a model holding `own` finds, and the copies it would make.
LoadReport plan_load(const StateDict& own, const StateDict& state, Copies& copies) {
  LoadReport report;
  for (const auto& item : own) {
    const torch::Tensor* theirs = state.find(item.key());
    if (!theirs && is_old_batch_norm_counter(item.key(), state)) {
      report.defaulted.push_back(item.key());
    } else if (!theirs) {
      report.missing.push_back(item.key());
    } else if (!theirs->defined() || theirs->sizes() != item.value().sizes()) {
      report.mismatched.push_back(item.key() + ": file " +
                                  (theirs->defined() ? shape_text(theirs->sizes()) : "undefined") +
                                  " vs model " + shape_text(item.value().sizes()));
    } else {
      copies.emplace_back(item.value(), *theirs);
    }
  }
  for (const auto& item : state)
    if (!own.contains(item.key()))
      report.unexpected.push_back(item.key());
  return report;
}

void refuse_if_incomplete(const LoadReport& report, LoadMode mode, const std::string& source) {
  if (mode == LoadMode::kStrict && !report.complete())
    throw InputError(source +
                     ": the weights do not match the model, nothing loaded: " + report.describe());
}

} // namespace

namespace detail {

/// load_state's checks without the copy: throws the InputError a strict load would. Only
/// shapes are looked at, so `state` may hold meta tensors (read_weights' unread ones).
void check_state(const torch::nn::Module& model, const StateDict& state, LoadMode mode,
                 const std::string& source) {
  Copies copies;
  refuse_if_incomplete(plan_load(state_of(model), state, copies), mode, source);
}

} // namespace detail

LoadReport load_state(torch::nn::Module& model, const StateDict& state, LoadMode mode,
                      const std::string& source) {
  const StateDict own = state_of(model);
  Copies copies;
  auto report = plan_load(own, state, copies);
  refuse_if_incomplete(report, mode, source);
  torch::NoGradGuard no_grad;
  for (auto& [ours, theirs] : copies)
    ours.copy_(theirs);
  for (const auto& key : report.defaulted)
    own[key].zero_();
  report.loaded = copies.size();
  return report;
}

} // namespace vfp::models
