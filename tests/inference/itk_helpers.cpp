#include "itk_helpers.h"

#include "data/data.h"

#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkPNGImageIO.h>

#include <stdexcept>

namespace vfp::inference_test {

GreyPicture read_png(const std::filesystem::path& file) {
  using Image = itk::Image<unsigned char, 2>;
  auto reader = itk::ImageFileReader<Image>::New();
  auto io = itk::PNGImageIO::New();
  reader->SetImageIO(io); // no factory: this reader takes PNG only
  reader->SetFileName(file.string());
  reader->Update();
  if (io->GetNumberOfComponents() != 1 || io->GetComponentType() != itk::IOComponentEnum::UCHAR)
    throw std::runtime_error(file.string() + ": not an 8-bit greyscale PNG");
  const auto* image = reader->GetOutput();
  const auto size = image->GetLargestPossibleRegion().GetSize();
  GreyPicture out;
  out.width = int(size[0]);
  out.height = int(size[1]);
  const auto* buffer = image->GetBufferPointer();
  out.pixels.assign(buffer, buffer + std::size_t(out.width) * std::size_t(out.height));
  return out;
}

std::map<int, std::array<double, 3>>
write_label_map(const std::filesystem::path& ct, const std::filesystem::path& out,
                const std::map<int, std::array<double, 3>>& centres) {
  vfp::data::register_image_formats();
  using Ct = itk::Image<float, 3>;
  using Labels = itk::Image<short, 3>;
  auto reader = itk::ImageFileReader<Ct>::New();
  reader->SetFileName(ct.string());
  reader->Update();
  const auto* image = reader->GetOutput();
  auto labels = Labels::New();
  labels->SetRegions(image->GetLargestPossibleRegion());
  labels->SetOrigin(image->GetOrigin());
  labels->SetSpacing(image->GetSpacing());
  labels->SetDirection(image->GetDirection());
  labels->Allocate(true);
  std::map<int, std::array<double, 3>> placed;
  for (const auto& [label, lps] : centres) {
    Ct::PointType point;
    for (int a = 0; a < 3; ++a)
      point[a] = lps[a];
    Ct::IndexType centre;
    if (!image->TransformPhysicalPointToIndex(point, centre))
      throw std::runtime_error("label map: a centre lies outside " + ct.string());
    for (int dz = -1; dz <= 1; ++dz)
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          auto at = centre;
          at[0] += dx;
          at[1] += dy;
          at[2] += dz;
          labels->SetPixel(at, short(label));
        }
    Ct::PointType p;
    image->TransformIndexToPhysicalPoint(centre, p);
    placed[label] = {p[0], p[1], p[2]};
  }
  auto writer = itk::ImageFileWriter<Labels>::New();
  writer->SetInput(labels);
  writer->SetFileName(out.string());
  writer->Update();
  return placed;
}

} // namespace vfp::inference_test
