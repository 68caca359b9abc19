// torch.save's format: a zip archive holding data.pkl (a pickle, read by pickle.h's
// Unpickler) and data/<key> records, the storages' bytes; the state dict in it.
#include "core/core.h"
#include "models/pickle.h"
#include "models/weight_files.h"

#include <caffe2/serialize/inline_container.h>

#include <map>
#include <memory>
#include <stdexcept>

namespace vfp::models::detail {
namespace {

using pickle::PyRef;
using pickle::PyValue;

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
                     const Wanted& wanted) {
  StateDict state;
  std::map<std::string, torch::Tensor> storages; // record → its bytes, read once
  for (const auto& [k, v] : dict.entries) {
    if (k->kind != PyValue::kString)
      throw InputError(weight_file_prefix(file) + "state dict" + under + " has a key of type " +
                       k->type() + ", not a string");
    if (v->kind != PyValue::kTensor)
      throw InputError(weight_file_prefix(file) + "'" + k->text + "'" + under + " is " + v->type() +
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
        throw InputError(weight_file_prefix(file) + "'" + k->text + "'" + under +
                         ": cannot read its data: " + first_line(e));
      }
    }
    if (t.is_floating_point())
      t = t.to(torch::kFloat32);
    state.insert(k->text, std::move(t));
  }
  return state;
}

// The archive opened and its data.pkl read, checked to come from a little-endian machine.
std::unique_ptr<caffe2::serialize::PyTorchStreamReader> open_archive(const std::string& file,
                                                                     std::string& pickle) {
  auto archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(file);
  if (archive->hasRecord("byteorder")) {
    auto [bytes, size] = archive->getRecord("byteorder");
    if (std::string(static_cast<const char*>(bytes.get()), size) != "little")
      throw std::runtime_error("saved on a big-endian machine");
  }
  if (!archive->hasRecord("data.pkl"))
    throw std::runtime_error("no data.pkl (a TorchScript module rather than torch.save?)");
  auto [bytes, size] = archive->getRecord("data.pkl");
  pickle.assign(static_cast<const char*>(bytes.get()), size);
  return archive;
}

} // namespace

StateDict read_torch_archive(const std::filesystem::path& file, const Wanted& wanted) {
  if (!little_endian_host())
    throw InputError(weight_file_prefix(file) +
                     "reading torch.save archives needs a little-endian machine");
  const std::string unreadable =
      weight_file_prefix(file) + "cannot read it as a PyTorch (torch.save) archive: ";
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  std::string pickle;
  try {
    archive = open_archive(file.string(), pickle);
  } catch (const std::exception& e) {
    throw InputError(unreadable + first_line(e));
  }
  pickle::Unpickler unpickler(pickle, *archive); // owns the values: root is used before it goes
  PyRef root;
  try {
    root = unpickler.run();
  } catch (const std::exception& e) {
    throw InputError(unreadable + first_line(e));
  }
  if (root->kind != PyValue::kDict)
    throw InputError(weight_file_prefix(file) + "holds " + root->type() +
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

} // namespace vfp::models::detail
