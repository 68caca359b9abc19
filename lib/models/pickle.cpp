// The pickle interpreter's machine: its values, the bytes it reads, its stack, marks and
// memo, and the loop that runs one opcode at a time (pickle.h says what it reads and why).
#include "models/pickle.h"

#include <stdexcept>

namespace vfp::models::pickle {
namespace {

std::string hex(unsigned char c) {
  static const char* digits = "0123456789abcdef";
  return {digits[c >> 4], digits[c & 0xF]};
}

} // namespace

void PyValue::hold(const PyValue& child) {
  if (child.depth < depth)
    return;
  if (child.depth >= kMaxPickleDepth)
    throw std::runtime_error("the pickle nests deeper than " + std::to_string(kMaxPickleDepth) +
                             " levels");
  depth = child.depth + 1;
}

std::string PyValue::type() const {
  static const char* names[] = {"None",  "bool", "int",  "float", "str",    "bytes",
                                "tuple", "list", "dict", "class", "object", "tensor"};
  return kind == kObject || kind == kGlobal ? text : names[kind];
}

void PyValue::set(const PyRef& key, const PyRef& value) {
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

Unpickler::~Unpickler() {
  for (const auto& v : made_) {
    v->items.clear();
    v->entries.clear();
  }
}

PyRef Unpickler::run() {
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

bool Unpickler::step(unsigned char op) {
  if (op == '.') // STOP
    return true;
  if (!step_framing(op) && !step_memo(op) && !step_scalar(op) && !step_string(op) &&
      !step_sequence(op) && !step_dict_or_set(op) && !step_object(op))
    throw std::runtime_error("unsupported by vfp's reader of torch.save files");
  return false;
}

// PROTO, FRAME and the stack's own opcodes.
bool Unpickler::step_framing(unsigned char op) {
  switch (op) {
  case 0x80: // PROTO
    byte();
    break;
  case 0x95: // FRAME
    little(8);
    break;
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
  default:
    return false;
  }
  return true;
}

// PUT and GET, their memo id in 1 or 4 little-endian bytes or a line of digits, and MEMOIZE.
bool Unpickler::step_memo(unsigned char op) {
  std::uint64_t id = 0;
  switch (op) {
  case 'q': // BINPUT
  case 'h': // BINGET
    id = little(1);
    break;
  case 'r': // LONG_BINPUT
  case 'j': // LONG_BINGET
    id = little(4);
    break;
  case 'p': // PUT
  case 'g': // GET
    id = std::stoull(line());
    break;
  case 0x94: // MEMOIZE: the next id
    id = memo_.size();
    break;
  default:
    return false;
  }
  if (op == 'h' || op == 'j' || op == 'g')
    memo_get(id);
  else
    memo_put(id);
  return true;
}

void Unpickler::limit(std::size_t size, const char* what) {
  if (size >= kMaxPickleValues)
    throw std::runtime_error("the pickle has more than " + std::to_string(kMaxPickleValues) + " " +
                             what);
}

PyRef Unpickler::make(PyValue::Kind kind) {
  limit(made_.size(), "values");
  auto v = std::make_shared<PyValue>();
  v->kind = kind;
  made_.push_back(v);
  return v;
}

unsigned char Unpickler::byte() {
  need(1);
  return static_cast<unsigned char>(data_[pos_++]);
}

void Unpickler::need(std::size_t n) const {
  if (n > data_.size() - pos_)
    throw std::runtime_error("the pickle ends early");
}

std::uint64_t Unpickler::little(std::size_t n) {
  need(n);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= std::uint64_t(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
  pos_ += n;
  return v;
}

std::string Unpickler::bytes(std::uint64_t n) {
  need(n);
  std::string s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

std::string Unpickler::line() {
  const auto end = data_.find('\n', pos_);
  if (end == std::string::npos)
    throw std::runtime_error("the pickle ends early");
  std::string s = data_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return s;
}

PyRef Unpickler::pop() {
  if (stack_.size() <= (marks_.empty() ? 0 : marks_.back()))
    throw std::runtime_error("pops an empty stack");
  auto v = stack_.back();
  stack_.pop_back();
  return v;
}

PyRef& Unpickler::top() {
  if (stack_.empty())
    throw std::runtime_error("reads an empty stack");
  return stack_.back();
}

std::vector<PyRef> Unpickler::pop_mark() {
  if (marks_.empty())
    throw std::runtime_error("no mark on the stack");
  std::vector<PyRef> items(stack_.begin() + std::ptrdiff_t(marks_.back()), stack_.end());
  stack_.resize(marks_.back());
  marks_.pop_back();
  return items;
}

void Unpickler::push(PyRef v) {
  limit(stack_.size(), "values on its stack");
  stack_.push_back(std::move(v));
}

void Unpickler::push_int(std::int64_t n) {
  auto v = make(PyValue::kInt);
  v->integer = n;
  push(v);
}

void Unpickler::push_string(std::string s, PyValue::Kind kind) {
  auto v = make(kind);
  v->text = std::move(s);
  push(v);
}

void Unpickler::push_sequence(PyValue::Kind kind, std::vector<PyRef> items) {
  auto v = make(kind);
  for (const auto& item : items)
    v->hold(*item);
  v->items = std::move(items);
  push(v);
}

void Unpickler::memo_put(std::uint64_t id) {
  if (!memo_.count(id))
    limit(memo_.size(), "memo entries");
  memo_[id] = top();
}

void Unpickler::memo_get(std::uint64_t id) {
  const auto found = memo_.find(id);
  if (found == memo_.end())
    throw std::runtime_error("memo entry " + std::to_string(id) + " is not defined");
  push(found->second);
}

PyRef& Unpickler::dict_on_top(const char* op) {
  auto& d = top();
  if (d->kind != PyValue::kDict)
    throw std::runtime_error(std::string(op) + " on " + d->type() + ", not a dict");
  return d;
}

} // namespace vfp::models::pickle
