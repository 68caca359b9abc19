// The page's provenance section: which code, LibTorch, devices, hosts, MPI worlds and Slurm jobs
// made the rows, and when; what a reader needs to tell whether two results are comparable.
#include "report.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace vfp::plots {
namespace {

using results::html_escape;

/// "cuda:0 (NVIDIA H100, CUDA 12.1, cuDNN 8.9.2)", or "cpu".
std::string device_text(const results::Provenance& p) {
  std::string details;
  for (const auto& [label, value] : std::vector<std::pair<std::string, std::string>>{
           {"", p.device_name}, {"CUDA ", p.cuda}, {"cuDNN ", p.cudnn}})
    if (!value.empty())
      details += (details.empty() ? "" : ", ") + label + value;
  return p.device + (details.empty() ? "" : " (" + details + ")");
}

/// "1234", "1234 (array 1230, task 4)", and ", restart 1" when Slurm requeued it.
std::string slurm_text(const results::Provenance& p) {
  if (p.slurm_job_id.empty())
    return "";
  std::string text = p.slurm_job_id;
  if (!p.slurm_array_job_id.empty())
    text += " (array " + p.slurm_array_job_id + ", task " + p.slurm_array_task_id + ")";
  if (p.slurm_restart_count && *p.slurm_restart_count > 0)
    text += ", restart " + std::to_string(*p.slurm_restart_count);
  return text;
}

} // namespace

std::string provenance_html(const std::vector<nlohmann::json>& rows) {
  std::map<std::string, std::map<std::string, int>> seen; // fact → value → rows
  std::string first_start, last_end;
  const auto typed = results::typed_rows(rows);
  for (const auto& row : typed) {
    const auto& p = results::header_of(row).provenance;
    if (!p)
      continue;
    const auto count = [&](const std::string& fact, const std::string& value) {
      if (!value.empty())
        ++seen[fact][value];
    };
    count("LibTorch", p->libtorch);
    count("devices", p->device.empty() ? "" : device_text(*p));
    count("hosts", p->host);
    count("MPI ranks", p->world_size ? std::to_string(*p->world_size) : "");
    count("Slurm jobs", slurm_text(*p));
    if (!p->started.empty() && (first_start.empty() || p->started < first_start))
      first_start = p->started; // ISO 8601 in UTC: text order is time order
    last_end = std::max(last_end, p->ended);
  }
  const auto versions = results::code_versions(typed);
  std::ostringstream html;
  html << "<section id=\"provenance\">\n<h2>Provenance</h2>\n";
  if (versions.size() > 1)
    html << "<p class=\"note\">The rows come from " << versions.size()
         << " code versions: their results may not be comparable.</p>\n";
  html << "<dl class=\"facts\"><dt>code versions</dt><dd>"
       << html_escape(versions.empty() ? std::string("no rows") : results::versions_text(versions))
       << "</dd>";
  for (const char* fact : {"LibTorch", "devices", "hosts", "MPI ranks", "Slurm jobs"})
    if (const auto it = seen.find(fact); it != seen.end())
      html << "<dt>" << fact << "</dt><dd>" << html_escape(results::versions_text(it->second))
           << "</dd>";
  if (!first_start.empty() || !last_end.empty())
    html << "<dt>jobs ran</dt><dd>" << html_escape(first_start.empty() ? "?" : first_start)
         << " to " << html_escape(last_end.empty() ? "?" : last_end) << " (UTC)</dd>";
  html << "</dl>\n</section>\n";
  return html.str();
}

} // namespace vfp::plots
