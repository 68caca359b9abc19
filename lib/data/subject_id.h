// Private to lib/data: the one check of a subject_id cell, shared by the labelled cohort table
// (cohort.cpp) and the unlabelled one of external pretraining (unlabelled_cohort.cpp).
#pragma once

#include <string>

namespace vfp::data {

/// Throws InputError "<where>: ..." unless `id` is a usable subject id: not empty, one path
/// component without a control character (an id names files: images/{id}.nii.gz, predict's
/// pictures <id>_<vertebra>.png). `where` is the table row, "<file>:<line>".
void check_subject_id(const std::string& id, const std::string& where);

} // namespace vfp::data
