#include "loader/loader.h"

#include "core/core.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace vfp::loader {

void MemorySource::read(std::int64_t item, float* out) const {
  std::copy_n(pixels_ + item * values_, values_, out);
}

/// Batches are numbered within an epoch; batch b is made in slot b % slots.size(). A
/// worker may make batch b only once the consumer has released batch b - slots.size(),
/// so a slot is never overwritten while in use.
struct Loader::Impl {
  struct Slot {
    std::vector<float> x, y;
    std::vector<int> items;
    int size = 0;
    long ready = -1;          // the batch number it holds, once complete
    std::exception_ptr error; // why it could not be made (rethrown where it is served)
  };

  const PatchSource& source;
  Shape shape;
  std::vector<int> items;
  std::vector<float> labels;
  LoaderOptions options;

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Slot> slots;
  std::vector<std::thread> workers;
  std::vector<int> order; // this epoch's items
  int epoch = 0;
  long batches = 0;   // in this epoch
  long claimed = 0;   // batches handed to makers
  long served = 0;    // batches handed to the consumer
  long released = 0;  // batches the consumer is done with (all served but the last)
  long in_flight = 0; // batches being made
  bool stopping = false;
  double waited = 0;
  std::vector<float> scratch; // the caller's thread's patch before augmentation (no threads)

  Impl(const PatchSource& p, Shape s, std::vector<int> i, std::vector<float> l, LoaderOptions o)
      : source(p), shape(s), items(std::move(i)), labels(std::move(l)), options(o) {
    VFP_CHECK(options.batch_size >= 1, "batch size must be at least 1");
    const int count = options.threads > 0 ? std::max(1, options.prefetch) + 1 : 1;
    slots.resize(size_t(count));
    for (auto& slot : slots) {
      slot.x.resize(size_t(options.batch_size * shape.values()));
      slot.y.resize(size_t(options.batch_size));
      slot.items.resize(size_t(options.batch_size));
    }
    if (options.threads == 0)
      scratch = patch_buffer();
    for (int t = 0; t < options.threads; ++t)
      workers.emplace_back([this] { work(); });
  }

  /// Where a maker reads a patch before augmenting it into the slot (none without
  /// augmentation: the patch is read straight into the slot).
  std::vector<float> patch_buffer() const {
    return std::vector<float>(options.augment.enabled ? size_t(shape.values()) : 0);
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    changed.notify_all();
    for (auto& w : workers)
      w.join();
  }

  long count_batches() const {
    const long n = long(items.size()), bs = options.batch_size;
    long b = (n + bs - 1) / bs;
    if (options.drop_single && b > 0 && n % bs == 1 && n > 1)
      --b; // the last batch would hold one sample
    return b;
  }

  void make(long b, Slot& slot, std::vector<float>& patch) const {
    const long first = b * options.batch_size;
    slot.size = int(std::min<long>(options.batch_size, long(order.size()) - first));
    const auto values = shape.values();
    for (int k = 0; k < slot.size; ++k) {
      const int item = order[size_t(first + k)];
      float* dst = slot.x.data() + k * values;
      if (!options.augment.enabled) {
        source.read(item, dst); // what augment_patch would copy
      } else {
        const std::uint64_t sample_seed = mix_seed(
            options.seed ^ mix_seed((std::uint64_t(epoch) << 32) ^ std::uint64_t(first + k)));
        source.read(item, patch.data());
        augment_patch(patch.data(), dst, shape, options.augment, sample_seed);
      }
      slot.y[size_t(k)] = labels[size_t(item)];
      slot.items[size_t(k)] = item;
    }
  }

  void work() {
    std::vector<float> patch = patch_buffer();
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      changed.wait(lock, [&] {
        return stopping || (claimed < batches && claimed < released + long(slots.size()));
      });
      if (stopping)
        return;
      const long b = claimed++;
      ++in_flight;
      Slot& slot = slots[size_t(b % long(slots.size()))];
      lock.unlock();
      std::exception_ptr error;
      try {
        make(b, slot, patch);
      } catch (...) { // a thread must not throw: the consumer rethrows it with this batch
        error = std::current_exception();
      }
      lock.lock();
      slot.error = error;
      slot.ready = b;
      --in_flight;
      changed.notify_all();
    }
  }
};

Loader::Loader(const PatchSource& source, Shape shape, std::vector<int> items,
               std::vector<float> labels, LoaderOptions options)
    : impl_(std::make_unique<Impl>(source, shape, std::move(items), std::move(labels), options)) {}

Loader::~Loader() = default;

void Loader::start_epoch(int epoch) {
  auto& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mutex);
  m.batches = 0; // no new claims; let batches being made finish
  m.changed.wait(lock, [&] { return m.in_flight == 0; });
  m.epoch = epoch;
  m.order = epoch_order(m.items, m.labels, m.options.sampling, m.options.seed, epoch);
  m.claimed = m.served = m.released = 0;
  for (auto& slot : m.slots) {
    slot.ready = -1;
    slot.error = nullptr;
  }
  m.batches = m.count_batches();
  lock.unlock();
  m.changed.notify_all();
}

bool Loader::next(Batch& out) {
  auto& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mutex);
  // The batch handed out last time is no longer in use: its slot may be refilled.
  if (m.released < m.served) {
    m.released = m.served;
    m.changed.notify_all();
  }
  if (m.served >= m.batches) {
    out = {};
    return false;
  }
  const long b = m.served++;
  auto& slot = m.slots[size_t(b % long(m.slots.size()))];
  if (m.workers.empty()) { // made here, so training waits for all of it
    const auto t0 = std::chrono::steady_clock::now();
    m.claimed = b + 1;
    m.make(b, slot, m.scratch);
    slot.ready = b;
    m.waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else if (slot.ready != b) {
    const auto t0 = std::chrono::steady_clock::now();
    m.changed.wait(lock, [&] { return slot.ready == b; });
    m.waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  if (slot.error)
    std::rethrow_exception(slot.error);
  out = {slot.x.data(), slot.y.data(), slot.items.data(), slot.size};
  return true;
}

int Loader::batches_per_epoch() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return int(impl_->count_batches());
}

double Loader::wait_seconds() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->waited;
}

} // namespace vfp::loader
