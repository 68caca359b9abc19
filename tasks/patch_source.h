// Internal to tasks/: the patches a task trains and scores on, read from the cache file patch
// by patch instead of loaded whole, so that a worker's memory does not grow with the number of
// patches (an uncompressed cache is read with pread at each patch's offset: the one copy is the
// node's page cache, shared by every rank on the node, and no mapping grows the process's RSS).
#pragma once

#include "config/config.h"
#include "data/data.h"
#include "loader/loader.h"
#include "tasks/tasks.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vfp::tasks {

/// The patches of a cache file; each read verifies the patch's checksum (data::CacheError
/// naming the file, patch and subject when it fails). Safe for concurrent reads.
class CacheSource : public loader::PatchSource {
public:
  /// `reader` must outlive the source.
  explicit CacheSource(const data::CacheReader& reader) : reader_(&reader) {}
  void read(std::int64_t item, float* out) const override;
  /// Names the cache's pixels without reading them: a hash of its shape and its per-patch
  /// checksums (which every read verifies). What BYOL's resume check compares.
  std::string identity() const;

private:
  const data::CacheReader* reader_;
};

/// A task's patches: the cache (built first when missing or corrupt) and a source over it.
struct TaskPatches {
  std::unique_ptr<data::CacheReader> reader;
  CacheSource source; ///< over *reader
  /// Shape, subject ids, vertebrae and exclusions of the patches; no pixels.
  const data::PatchSet& index() const { return reader->index(); }
};

/// Opens (or builds, under the cache's lock) the cache of configuration `c` over `subjects`.
TaskPatches open_task_patches(const config::ExperimentConfig& c,
                              const std::vector<data::Subject>& subjects, const TaskContext& ctx);

} // namespace vfp::tasks
