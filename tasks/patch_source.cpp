#include "tasks/patch_source.h"

#include "core/core.h"

namespace vfp::tasks {

void CacheSource::read(std::int64_t item, float* out) const {
  // A negative item wraps to a huge index, which the reader refuses naming its file.
  reader_->read(static_cast<std::size_t>(item), out);
}

std::string CacheSource::identity() const {
  const auto& index = reader_->index();
  std::vector<std::uint64_t> words = {std::uint64_t(index.channels), std::uint64_t(index.depth),
                                      std::uint64_t(index.height), std::uint64_t(index.width),
                                      std::uint64_t(index.size())};
  words.reserve(words.size() + index.size());
  for (std::size_t i = 0; i < index.size(); ++i)
    words.push_back(reader_->checksum(i));
  return hex64(checksum64(words.data(), words.size() * sizeof(std::uint64_t)));
}

TaskPatches open_task_patches(const config::ExperimentConfig& c,
                              const std::vector<data::Subject>& subjects, const TaskContext& ctx) {
  auto reader = data::open_or_build_cache(c, subjects, ctx.cache_dir, ctx.threads);
  const CacheSource source(*reader);
  return TaskPatches{std::move(reader), source};
}

} // namespace vfp::tasks
