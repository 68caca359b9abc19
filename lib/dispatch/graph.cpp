#include "dispatch/dispatch.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace vfp::dispatch {

int Graph::add(Job job) {
  const int index = int(jobs_.size());
  for (int d : job.depends_on) {
    if (d < 0 || d >= index)
      throw Error("dispatch: job " + job.id + " depends on job " + std::to_string(d) +
                  ", which is not in the graph yet");
    jobs_[std::size_t(d)].dependents.push_back(index);
  }
  int unmet = 0;
  for (int d : job.depends_on)
    unmet += jobs_[std::size_t(d)].state != State::kDone;
  Entry e;
  e.job = std::move(job);
  jobs_.push_back(std::move(e));
  unmet_.push_back(unmet);
  push_if_ready(index);
  return index;
}

void Graph::push_if_ready(int j) {
  const auto& e = jobs_[std::size_t(j)];
  if (e.state != State::kWaiting || unmet_[std::size_t(j)] > 0)
    return;
  if (e.job.on_coordinator)
    ready_on_coordinator_.push_back(j);
  else
    ready_.push({e.job.estimate_seconds, e.dependents.size(), j});
}

void Graph::mark_finished_ok(int j) {
  auto& e = jobs_[std::size_t(j)];
  if (e.state == State::kDone)
    return;
  e.state = State::kDone;
  ++finished_;
  for (int d : e.dependents) {
    --unmet_[std::size_t(d)];
    push_if_ready(d);
  }
}

void Graph::mark_done(int j) {
  if (j < 0 || std::size_t(j) >= jobs_.size())
    throw std::out_of_range("dispatch: mark_done: job " + std::to_string(j) +
                            " is not in the graph (" + std::to_string(jobs_.size()) + " jobs)");
  mark_finished_ok(j);
}

void Graph::set_estimate(int j, double seconds) {
  auto& e = jobs_.at(std::size_t(j));
  if (e.job.estimate_seconds == seconds)
    return;
  e.job.estimate_seconds = seconds;
  push_if_ready(j); // the entry with the old estimate is skipped when it comes up
}

int Graph::next_ready() {
  while (!ready_.empty()) {
    const auto top = ready_.top();
    const auto& e = jobs_[std::size_t(top.index)];
    if (e.state == State::kWaiting && top.estimate == e.job.estimate_seconds)
      return top.index;
    ready_.pop(); // started, finished or re-estimated since it was pushed
  }
  return -1;
}

int Graph::next_ready_on_coordinator() {
  while (!ready_on_coordinator_.empty()) {
    const int j = ready_on_coordinator_.front();
    if (jobs_[std::size_t(j)].state == State::kWaiting)
      return j;
    ready_on_coordinator_.pop_front();
  }
  return -1;
}

bool Graph::unfinished() const {
  return finished_ < jobs_.size();
}

void Graph::start(int j, int rank) {
  auto& e = jobs_.at(std::size_t(j));
  e.state = State::kRunning;
  e.rank = rank;
  ++e.attempts;
  e.started = e.last_heartbeat = Clock::now();
  e.progress = nullptr;
}

void Graph::heartbeat(int j, const nlohmann::json& progress) {
  auto& e = jobs_.at(std::size_t(j));
  e.last_heartbeat = Clock::now();
  e.progress = progress;
}

std::vector<int> Graph::finish(int j, bool ok, const std::string& reason, int retries) {
  auto& e = jobs_.at(std::size_t(j));
  if (ok) {
    // What it took is the best estimate of its kind's jobs still to come.
    e.job.estimate_seconds = std::chrono::duration<double>(Clock::now() - e.started).count() + 1e-6;
    mark_finished_ok(j);
    return {};
  }
  e.reason = reason;
  if (e.attempts <= retries) {
    e.state = State::kWaiting;
    push_if_ready(j);
    return {};
  }
  std::vector<int> failed;
  std::vector<int> stack{j};
  while (!stack.empty()) {
    const int f = stack.back();
    stack.pop_back();
    auto& entry = jobs_[std::size_t(f)];
    if (f != j && entry.state != State::kWaiting)
      continue;
    entry.state = State::kFailed;
    ++finished_;
    if (f != j)
      entry.reason = "its " + e.job.kind + " job " + e.job.id + " failed: " + reason;
    failed.push_back(f);
    for (int d : entry.dependents)
      stack.push_back(d);
  }
  return failed;
}

void Graph::interrupt(int j) {
  auto& e = jobs_.at(std::size_t(j));
  VFP_CHECK(e.state == State::kRunning, "interrupting a job that does not run");
  e.state = State::kWaiting;
  --e.attempts; // a stop is not a failed attempt
  e.progress = nullptr;
  push_if_ready(j);
}

Graph::Counts Graph::counts() const {
  Counts c;
  for (const auto& e : jobs_)
    switch (e.state) {
    case State::kWaiting:
      ++c.waiting;
      break;
    case State::kRunning:
      ++c.running;
      break;
    case State::kDone:
      ++c.done;
      break;
    case State::kFailed:
      ++c.failed;
      break;
    }
  return c;
}

double Graph::eta_seconds(int workers) const {
  // A job without an estimate counts as the mean known estimate of its kind: one pass to
  // take the means, one to sum what is left (ETA is asked after every event).
  std::map<std::string, std::pair<double, int>> known_of_kind;
  for (const auto& e : jobs_)
    if (e.job.estimate_seconds > 0) {
      auto& k = known_of_kind[e.job.kind];
      k.first += e.job.estimate_seconds;
      ++k.second;
    }
  double left = 0;
  bool known = false;
  const auto now = Clock::now();
  for (const auto& e : jobs_) {
    if (e.state != State::kWaiting && e.state != State::kRunning)
      continue;
    double est = e.job.estimate_seconds;
    if (est <= 0) {
      const auto it = known_of_kind.find(e.job.kind);
      est = it == known_of_kind.end() ? 0 : it->second.first / it->second.second;
    }
    if (est <= 0)
      continue;
    known = true;
    const double ran =
        e.state == State::kRunning ? std::chrono::duration<double>(now - e.started).count() : 0;
    left += std::max(0.0, est - ran);
  }
  return known ? left / std::max(1, workers) : -1;
}

nlohmann::json Graph::running() const {
  auto out = nlohmann::json::array();
  const auto now = Clock::now();
  for (const auto& e : jobs_)
    if (e.state == State::kRunning)
      out.push_back({{"rank", e.rank},
                     {"kind", e.job.kind},
                     {"task", e.job.id},
                     {"attempt", e.attempts},
                     {"seconds", std::chrono::duration<double>(now - e.started).count()},
                     {"seconds_since_heartbeat",
                      std::chrono::duration<double>(now - e.last_heartbeat).count()},
                     {"progress", e.progress}});
  return out;
}

std::string format_duration(double seconds) {
  char buf[64];
  const long s = std::lround(std::max(0.0, seconds));
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld h %02ld min", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ld min %02ld s", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld s", s);
  return buf;
}

} // namespace vfp::dispatch
