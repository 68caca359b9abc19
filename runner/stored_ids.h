// Results an older vfp filed under configuration ids that hashed runtime settings: a resumed
// sweep finds them and keeps their ids (sweep::stored_configuration_ids).
#pragma once

#include "results/results.h"
#include "sweep/sweep.h"

#include <map>
#include <string>

namespace vfp::runner {

/// Gives `sweep`'s configurations the ids under which `folder` holds their results where those
/// differ from theirs only by runtime settings, logging each; returns what it changed
/// (configuration index → id), for ranks that expanded the sweep themselves.
std::map<int, std::string> keep_stored_ids(sweep::Sweep& sweep, const results::SweepFolder& folder);

} // namespace vfp::runner
