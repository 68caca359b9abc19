// Private to lib/models: the pickle interpreter that reads data.pkl, the state dict inside
// torch.save's zip archive (torch_archive.cpp).
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
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace caffe2::serialize {
class PyTorchStreamReader;
} // namespace caffe2::serialize

namespace vfp::models::pickle {

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

constexpr int kMaxPickleDepth = 1000;
constexpr std::size_t kMaxPickleValues = std::size_t(1) << 21;

/// One Python value of the pickle; `kind` says which members hold it.
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
  void hold(const PyValue& child);
  /// The Python type's name for messages; an object's or class's own name.
  [[nodiscard]] std::string type() const;
  /// dict[key] = value: a string key already present keeps its place.
  void set(const PyRef& key, const PyRef& value);
};

/// Runs one pickle, resolving its persistent ids (storages) to records of `archive`.
class Unpickler {
public:
  Unpickler(const std::string& pickle, caffe2::serialize::PyTorchStreamReader& archive)
      : data_(pickle), archive_(archive) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;
  /// Every value it made is still held by made_: emptied one by one, none is destroyed while
  /// holding others, so nothing recurses. (The value run() returned is emptied too: use it
  /// before the Unpickler goes.)
  ~Unpickler();

  /// The pickle's value; throws std::runtime_error naming the opcode and byte at fault.
  PyRef run();

private:
  // pickle.cpp: reading the bytes, the stack, marks and memo.
  static void limit(std::size_t size, const char* what);
  PyRef make(PyValue::Kind kind);
  unsigned char byte();
  void need(std::size_t n) const;
  std::uint64_t little(std::size_t n);
  std::string bytes(std::uint64_t n);
  std::string line();
  PyRef pop();
  PyRef& top();
  std::vector<PyRef> pop_mark();
  void push(PyRef v);
  void push_int(std::int64_t n);
  void push_string(std::string s, PyValue::Kind kind = PyValue::kString);
  void push_sequence(PyValue::Kind kind, std::vector<PyRef> items);
  void memo_put(std::uint64_t id);
  void memo_get(std::uint64_t id);
  PyRef& dict_on_top(const char* op);

  // One function per opcode family, each false for an opcode not its own. step: true at STOP;
  // step_framing and step_memo in pickle.cpp, the others in pickle_opcodes.cpp.
  bool step(unsigned char op);
  bool step_framing(unsigned char op);
  bool step_memo(unsigned char op);
  bool step_scalar(unsigned char op);
  bool step_string(unsigned char op);
  bool step_sequence(unsigned char op);
  bool step_dict_or_set(unsigned char op);
  bool step_object(unsigned char op);

  // pickle_torch.cpp: the classes torch.save emits and its storages.
  PyRef reduce(const PyValue& callable, const PyValue& args);
  PyRef rebuild_tensor(const PyValue& args);
  PyRef storage(const PyValue& pid);

  const std::string& data_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  std::size_t pos_ = 0;
  std::vector<PyRef> stack_;
  std::vector<std::size_t> marks_;
  std::map<std::uint64_t, PyRef> memo_;
  std::map<std::string, PyRef> storages_;
  std::vector<PyRef> made_; ///< every value made, for the teardown
};

} // namespace vfp::models::pickle
