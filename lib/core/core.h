// vfp::core — error types with context, stable hashing, atomic files, CPU affinity.
// Depends on the standard library only, so every module (torch ones included) can use it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vfp {

/// Version of vfp, as printed by `vfp --version` and recorded in provenance.
std::string_view version();

/// Base of every error vfp reports to a user: the message already names file/line/key/subject.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Bad user input: config, cohort table, images, command line.
class InputError : public Error {
public:
  using Error::Error;
};

/// An I/O failure (cannot read/write/rename a file).
class IoError : public Error {
public:
  using Error::Error;
};

/// A task failed for a reason worth recording (NaN loss, empty fold, ...).
class TaskError : public Error {
public:
  using Error::Error;
};

/// A graceful stop asked for by a signal (SIGTERM or SIGUSR1: a scheduler's preemption or
/// time-limit warning): the work is left to be resumed, not failed.
class Interrupted : public Error {
public:
  using Error::Error;
};

/// Graceful stop. The handlers (SIGTERM, SIGUSR1) only set a flag; long loops (training
/// batches, BYOL steps, preprocessing subjects, the dispatch loop) poll it and unwind at a
/// point from which a rerun resumes (the last checkpoint, the last finished row).
void install_stop_handlers();
/// The signal that asked for a stop, or 0.
int stop_signal();
/// Asks for a stop as if `signal` had arrived (e.g. the coordinator's word to a worker).
void request_stop(int signal);
/// Throws Interrupted ("stopped by signal N <where>") once a stop was asked for.
void throw_if_stop_requested(const std::string& where);

namespace detail {
[[noreturn]] void throw_internal(const char* file, int line, const char* cond,
                                 const std::string& what);
}

/// Internal invariant check: a failure is a vfp bug, reported with source file and line.
#define VFP_CHECK(cond, what)                                                                      \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ::vfp::detail::throw_internal(__FILE__, __LINE__, #cond, (what));                            \
  } while (false)

/// 64-bit FNV-1a: stable across platforms and runs, used for ids and cache keys.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL);

/// Fast 64-bit checksum of a buffer (position-weighted sums over 8 lanes of 64-bit words,
/// then mixed; at memory speed): detects any change of a single word and nearly every
/// reordering; for integrity checks and change detection of large data, not for security.
std::uint64_t checksum64(const void* data, std::size_t bytes);

/// 16 lower-case hex digits of a 64-bit value.
std::string hex64(std::uint64_t value);

/// Mixes a 64-bit value into a well-spread seed (splitmix64 finaliser).
std::uint64_t mix_seed(std::uint64_t value);

/// Hex id of a string, e.g. a canonical JSON of a resolved configuration. The finaliser
/// spreads FNV's output so that near-identical inputs get visibly different ids.
inline std::string stable_id(std::string_view canonical) {
  return hex64(mix_seed(fnv1a64(canonical)));
}

/// Reads a whole file, bytes as they are (text or binary); throws IoError naming the path,
/// and require_regular_file's InputError for a FIFO, device, socket or folder (which would
/// block or never end), naming the file as `what` ("bundle file").
std::string read_text_file(const std::filesystem::path& path, std::string_view what = "input file");

/// Checks, before a reader opens it, that `path` (a symlink followed) is a regular file: a
/// FIFO would block the open for ever, /dev/zero never ends, a folder fails with a stream
/// error naming nothing. Throws InputError "<what> <path> is a FIFO, not a regular file"
/// (what: e.g. "cohort table"; a link says where it leads). Does nothing when `path` does
/// not exist: the reader's own open says so in its words.
void require_regular_file(const std::filesystem::path& path, std::string_view what);

/// A value from an input file made fit for an error message: control characters and bytes
/// that are not UTF-8 escaped (\n, \x01), and past `keep` characters cut, with the size
/// said: "AAAA… (1048576 bytes)".
std::string shorten_for_message(std::string_view value, std::size_t keep = 60);

/// A whole cell as a plain decimal number, the one rule for every number vfp reads from a
/// CSV file: an optional '-', digits with an optional '.' fraction, an optional exponent
/// ("-2.5", "1e-3", ".5"); finite. No '+', hex ("0x40"), "inf"/"nan", blanks or trailing
/// characters: false for those, and for an empty cell.
bool parse_decimal(std::string_view cell, double& out);

/// The one CSV reader (every CSV vfp reads: the cohort and centroid tables, oof.csv,
/// `vfp cox`, `vfp metrics`, `vfp predict --csv`). Its rules:
///  - a UTF-8 byte-order mark at the start is skipped; lines end in LF or CRLF;
///  - RFC 4180 quoting: a quoted cell may hold separators, line breaks (the row then spans
///    lines, as csv_field writes them) and doubled quotes ("" is one quote);
///  - cells are trimmed of the spaces and tabs outside quotes; quoted text is kept as it is;
///  - a row whose cells are all empty (a blank line, or bare separators as spreadsheets
///    export empty rows) is skipped; rows keep the file's line numbers (a row's first line);
///  - a quote left open at the end of the file is an InputError naming file:line of its row:
///    "<file>:<line>: expected <N> cells, found <M> (a quote is not closed)".
struct CsvFormat {
  std::string what = "CSV file";         ///< how messages name the file: "cohort table"
  std::string expected = "a header row"; ///< the header a user should write
  char separator = ',';                  ///< ';' for the study's centroid tables
  std::vector<std::string> required;     ///< columns that must be in the header
};

/// The cells of one CSV row by the rules of read_csv (a quote left open runs to the end).
std::vector<std::string> split_csv_row(std::string_view line, char separator = ',');

/// A CSV file read whole: its header and rows, each row with its line number.
struct CsvFile {
  std::string file;
  std::vector<std::string> header;
  struct Row {
    int line = 0;
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;

  /// Index of a column; throws InputError naming the file and the columns it has.
  std::size_t column(const std::string& name) const;
  /// Whether the header names `name`.
  bool has_column(const std::string& name) const;
  /// A row's cell as a finite number; throws InputError naming file:line, the column and the
  /// cell (also when the row is too short).
  double number(const Row& row, std::size_t column) const;
  /// A row's cell as text; throws InputError naming file:line when the row is too short.
  const std::string& text(const Row& row, std::size_t column) const;
};

/// Reads a CSV file (header row first) by the rules above. Throws InputError
/// "<what> not found: <file>", "<file>: empty <what> (expected <expected>)",
/// "<file>:1: missing column '<name>' (expected <expected>)" or the open quote's message;
/// require_regular_file's for a FIFO or device; IoError when it cannot be read.
CsvFile read_csv(const std::string& file, const CsvFormat& format = {});

/// The named columns of a CSV file as numbers, in row order. Throws InputError naming the file
/// and, for a missing column, the columns there are; for a bad cell, the line, the column and
/// the cell; for a file without data rows, that.
std::map<std::string, std::vector<double>> read_csv_columns(const std::string& file,
                                                            const std::vector<std::string>& names);

/// One cell of a CSV row vfp writes (RFC 4180): `text` as it is, or in double quotes (a quote
/// doubled) when it holds a comma, a quote or a line break, so that read_csv reads it back
/// unchanged. For files vfp reads back (oof.csv, cohort.csv): the text is never altered.
std::string csv_field(std::string_view text);

/// A text cell of a CSV meant for spreadsheets (report/table.csv): as csv_field, but text a
/// spreadsheet would run as a formula (first character '=', '+', '-', '@', tab or carriage
/// return) gets a leading "'". A plain decimal number ("-0.5", "+1e-3") is kept as it is.
std::string spreadsheet_csv_field(std::string_view text);

/// Writes `content` to a temporary file beside `path`, fsyncs it and renames it into place,
/// so readers see either the old file or the complete new one.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

/// The same for files another library writes (e.g. torch's archives): `write` fills the
/// temporary path it is given; it is then fsynced and renamed into place. When `write` throws,
/// the temporary is removed and the exception passes on.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const std::filesystem::path&)>& write);

/// Appends one line (a '\n' is added) and fsyncs, so a finished row survives a crash. When
/// the write fails (disk full) the file is cut back to its old end: no partial row stays for
/// a later row to be glued onto.
void append_line_durably(const std::filesystem::path& path, std::string_view line);

/// Test-only fault injection (tests/faults, docs/hardening.md). True when the environment
/// variable VFP_FAULT, read once, is `name[:nth][:process]` and this is the nth (default
/// 1st) time this process reaches `name`; false at once when VFP_FAULT is unset.
bool fault_point_reached(const char* name);

/// Test-only: SIGKILLs every process of this process's session (the test starts mpirun with
/// setsid: the launcher and every rank; others first, this one last), or only this process
/// when VFP_FAULT ends in ":process". No handler, no graceful stop, no flush runs. Says so
/// on stderr and, when VFP_FAULT_NOTE names a file, appends the same line to it.
[[noreturn]] void kill_job_now(const char* name);

/// A named point where tests kill the job (see fault_point_reached); one line at the point.
inline void fault_point(const char* name) {
  if (fault_point_reached(name))
    kill_job_now(name);
}

/// An exclusive lock on a file (flock) that never waits, held until destruction: one `vfp
/// run` of a sweep at a time. The holder's one-line note (host, pid, start) is written into
/// the file for whoever is refused next. Throws LockHeld when another process holds it, and
/// IoError when the file cannot be opened (e.g. it is a symlink). Where the file system cannot
/// lock at all, nothing is held and unsupported() says why, so that the caller can warn.
class RunLock {
public:
  RunLock(const std::filesystem::path& file, const std::string& holder);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  /// Empty when held; otherwise the file system's reason (e.g. "No locks available").
  [[nodiscard]] const std::string& unsupported() const { return unsupported_; }

private:
  std::filesystem::path file_;
  int fd_ = -1;
  std::string unsupported_;
};

/// Another process holds a RunLock; holder() is its note (empty when it has not written one).
class LockHeld : public Error {
public:
  LockHeld(const std::filesystem::path& file, std::string holder);
  [[nodiscard]] const std::filesystem::path& file() const { return file_; }
  [[nodiscard]] const std::string& holder() const { return holder_; }

private:
  std::filesystem::path file_;
  std::string holder_;
};

/// True for a "<name>.tmp.<pid>" file (what write_file_atomically and the cache writer write
/// before renaming) whose writer is no live process on this host: a killed run's leftover.
bool is_stale_temporary(const std::filesystem::path& path);

/// Removes the "<file>.tmp.<pid>" temporaries of `file`: every one when `any_writer` (the
/// caller holds the lock that each writer of `file` takes, so none is being written), else
/// those is_stale_temporary finds. Returns how many went.
int remove_stale_temporaries(const std::filesystem::path& file, bool any_writer);

/// Removes every stale temporary (is_stale_temporary) below `folder`, links not followed.
int remove_stale_temporaries_below(const std::filesystem::path& folder);

/// Returns `name` when it can be one path component built from a config value or a results
/// file (a sweep name, a task or configuration id, a bundle's file name): not empty, not "."
/// or "..", at most 255 bytes, no '/', '\\', NUL, newline or other control character.
/// Otherwise throws InputError naming `what` and the name.
const std::string& checked_path_component(const std::string& name, std::string_view what);

/// Throws IoError naming `path` (and `root`) when `path` is a symlink.
void refuse_symlink(const std::filesystem::path& path, const std::filesystem::path& root);

/// The folder root/parts[0]/parts[1]/..., every part a checked_path_component, so that it
/// stays inside `root`. `root` itself may be a symlink (where results live is the user's
/// choice); below it, an existing part must be a real folder and no entry of the final folder
/// may be a symlink (a planted link would lead vfp's writes outside the root): IoError naming
/// the link otherwise. With `create`, missing folders are made (root too); without, a missing
/// part is fine and nothing is made (a dry run).
std::filesystem::path confined_folder(const std::filesystem::path& root,
                                      const std::vector<std::string>& parts, bool create);

/// What a finished program printed, and how it ended.
struct ProgramResult {
  int exit_code = 0; ///< its exit status, or 128 + the signal that ended it
  std::string out, err;
};

/// Runs a program (argv[0] searched on PATH) without a shell, so that no argument is ever
/// interpreted; stdin is /dev/null, stdout and stderr are captured. Throws IoError when it
/// cannot be started (e.g. not installed).
ProgramResult run_program(const std::vector<std::string>& argv);

/// Number of CPUs this process may run on (sched_getaffinity), at least 1.
int cpus_in_affinity();

/// This machine's host name (gethostname), "" when it cannot be read: where a rank, a task or
/// a run lock's holder ran.
std::string host_name();

/// What keep_freed_memory() set, in bytes (0: not glibc, nothing set).
struct MallocThresholds {
  long mmap = 0;
  long trim = 0;
  std::string describe() const; ///< "glibc malloc: mmap_threshold N, trim_threshold M"
};

/// Tunes glibc malloc so that freed large blocks stay in the process (no return to the
/// kernel, no page faults when the next training step allocates them again): raises the mmap
/// and trim thresholds to 1 GiB (the mmap one to 32 MiB where glibc caps it). Call once at
/// start-up, before threads. Returns what it set.
MallocThresholds keep_freed_memory();

} // namespace vfp
