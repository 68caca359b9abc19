// libFuzzer target: the centroid readers: VerSe JSON (vfp::data::read_verse_centroids) and
// the SubjectID;Vertebra;X;Y;Z table (vfp::data::read_centroid_csv). A vfp::Error is the
// expected answer to bad input.
#include "fuzz_util.h"

#include "core/core.h"
#include "data/data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = vfp::fuzz::scratch_file(data, size, ".json");
  try {
    vfp::data::read_verse_centroids(file);
  } catch (const vfp::Error&) {
  }
  try {
    vfp::data::read_centroid_csv(file, "lps");
  } catch (const vfp::Error&) {
  }
  return 0;
}
