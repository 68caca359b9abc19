// The pickle interpreter's opcodes that make values: scalars, strings, tuples and lists,
// dicts and sets, classes and objects (pickle.h).
#include "models/pickle.h"

#include <cstring>
#include <map>
#include <stdexcept>

namespace vfp::models::pickle {

bool Unpickler::step_scalar(unsigned char op) {
  switch (op) {
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
  default:
    return false;
  }
  return true;
}

bool Unpickler::step_string(unsigned char op) {
  // Each opcode's length prefix, in bytes, and what its bytes become.
  struct Sized {
    std::size_t length_bytes;
    PyValue::Kind kind;
  };
  static const std::map<unsigned char, Sized> opcodes{
      {'X', {4, PyValue::kString}},  // BINUNICODE
      {0x8c, {1, PyValue::kString}}, // SHORT_BINUNICODE
      {0x8d, {8, PyValue::kString}}, // BINUNICODE8
      {'T', {4, PyValue::kString}},  // BINSTRING (Python 2)
      {'U', {1, PyValue::kString}},  // SHORT_BINSTRING (Python 2)
      {'B', {4, PyValue::kBytes}},   // BINBYTES
      {'C', {1, PyValue::kBytes}}};  // SHORT_BINBYTES
  const auto found = opcodes.find(op);
  if (found == opcodes.end())
    return false;
  push_string(bytes(little(found->second.length_bytes)), found->second.kind);
  return true;
}

bool Unpickler::step_sequence(unsigned char op) {
  switch (op) {
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
  default:
    return false;
  }
  return true;
}

bool Unpickler::step_dict_or_set(unsigned char op) {
  switch (op) {
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
  default:
    return false;
  }
  return true;
}

bool Unpickler::step_object(unsigned char op) {
  switch (op) {
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
  default:
    return false;
  }
  return true;
}

} // namespace vfp::models::pickle
