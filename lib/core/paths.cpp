// Confinement of the paths vfp builds inside a results root from config values and result
// rows (sweep names, task and configuration ids, bundle file names). The policy (docs/
// hardening.md, Security): the root itself, and the folders above it, may be symlinks (where
// a user keeps results is theirs to choose); below it, a name is one plain path component and
// nothing vfp would write into or through may be a symlink, because a link planted there (or
// copied along from another machine) would send writes outside the root.
#include "core/core.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace vfp {
namespace fs = std::filesystem;
namespace {

// A name for a message: control characters (newline, NUL, ...) as \xNN, so that the message
// itself stays one line and shows what was wrong.
std::string printable(std::string_view name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      out += std::string("\\x") + hex[u >> 4] + hex[u & 0xF];
    else
      out += c;
  }
  return out;
}

// lstat: never follows the last component. False when nothing is there.
bool lstat_of(const fs::path& path, struct stat& st) {
  if (::lstat(path.c_str(), &st) == 0)
    return true;
  if (errno == ENOENT)
    return false;
  throw IoError("cannot inspect " + path.string() + ": " + std::strerror(errno));
}

[[noreturn]] void refuse_link(const fs::path& path, const fs::path& root) {
  std::error_code ec;
  const auto target = fs::read_symlink(path, ec);
  throw IoError("refusing to follow the symlink " + path.string() +
                (ec ? std::string() : " (to " + target.string() + ")") + " inside results root " +
                root.string() +
                ": vfp never writes through a link below the results root (remove it, or make "
                "the results root itself the link)");
}

} // namespace

const std::string& checked_path_component(const std::string& name, std::string_view what) {
  std::string problem;
  if (name.empty())
    problem = "is empty";
  else if (name == "." || name == "..")
    problem = "is '" + name + "'";
  else if (name.size() > 255)
    problem = "is longer than 255 bytes";
  else
    for (char c : name) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '/' || c == '\\')
        problem = "holds a '" + std::string(1, c) + "'";
      else if (u < 0x20 || u == 0x7f)
        problem = "holds a control character (NUL, newline, ...)";
      if (!problem.empty())
        break;
    }
  if (!problem.empty())
    throw InputError(std::string(what) + " '" + printable(name) + "' " + problem +
                     ": it names a single folder or file, so it may hold no '/', '\\', NUL or "
                     "newline and may not be '.' or '..'");
  return name;
}

void refuse_symlink(const fs::path& path, const fs::path& root) {
  struct stat st {};
  if (lstat_of(path, st) && S_ISLNK(st.st_mode))
    refuse_link(path, root);
}

fs::path confined_folder(const fs::path& root, const std::vector<std::string>& parts, bool create) {
  if (parts.empty())
    throw InputError("internal: confined_folder without a name below " + root.string());
  if (create) {
    std::error_code ec;
    fs::create_directories(root, ec); // the root may be (or lie under) a symlink: allowed
    if (ec)
      throw IoError("cannot create results root " + root.string() + ": " + ec.message());
  }
  fs::path path = root;
  bool exists = true;
  for (const auto& part : parts) {
    path /= checked_path_component(part, "name");
    struct stat st {};
    exists = exists && lstat_of(path, st);
    if (exists) {
      if (S_ISLNK(st.st_mode))
        refuse_link(path, root);
      if (!S_ISDIR(st.st_mode))
        throw IoError(path.string() + " inside results root " + root.string() + " is not a folder");
    } else if (create && ::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      throw IoError("cannot create " + path.string() + ": " + std::strerror(errno));
    } else if (create) {
      // Created now (or by another rank just before): check what is there, as above.
      if (!lstat_of(path, st) || S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
        refuse_link(path, root);
      exists = true;
    }
  }
  // The files vfp writes in the folder (logs, configs, checkpoints, models, results.jsonl):
  // atomic writes replace a link by rename, but appends and log sinks would follow one.
  if (exists)
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_symlink())
        refuse_link(entry.path(), root);
  return path;
}

} // namespace vfp
