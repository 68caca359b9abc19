// vfp: experiment runner for vertebral fracture prognosis from CT.
#include "commands.h"

#include "core/core.h"
#include "log/log.h"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  using namespace vfp::runner;
  // Training steps reallocate the same large buffers: keep them mapped (about 2× CPU step
  // time otherwise on VMs where page faults are expensive; bench/ measures it).
  vfp::keep_freed_memory();
  CLI::App app{"vfp: deep-learning vertebral fracture prognosis from CT — sweeps, training, "
               "statistics"};
  app.set_version_flag("--version", std::string("vfp ") + std::string(vfp::version()));
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();

  SynthArgs synth;
  auto* synth_cmd = app.add_subcommand("synth", "Write a synthetic CT cohort with planted effects");
  synth_cmd->add_option("--subjects", synth.subjects, "number of subjects")->capture_default_str();
  synth_cmd->add_option("--out", synth.out, "output folder")->required();
  synth_cmd->add_option("--seed", synth.seed, "random seed (same seed, same bytes)")
      ->capture_default_str();
  synth_cmd->add_option("--event-rate", synth.event_rate, "target share of fracture events")
      ->capture_default_str();
  synth_cmd->add_option("--threads", synth.threads, "writer threads (0 = CPU affinity)")
      ->capture_default_str();

  PreprocessArgs prep;
  auto* prep_cmd =
      app.add_subcommand("preprocess", "Fill the HDF5 patch cache for a config or sweep");
  prep_cmd->add_option("config", prep.config_file, "experiment or sweep YAML")->required();
  prep_cmd->add_option("--results-root", prep.results_root, "results root")->capture_default_str();
  prep_cmd->add_option("--cache", prep.cache_dir, "cache folder (default <results-root>/cache)");
  prep_cmd->add_option("--threads", prep.threads, "threads (0 = CPU affinity)")
      ->capture_default_str();
  prep_cmd->add_flag("--smoke", prep.smoke, "with the file's smoke: values");

  SweepArgs sweep;
  auto* sweep_cmd =
      app.add_subcommand("sweep", "Expand a sweep and list its configurations and tasks");
  sweep_cmd->add_option("sweep", sweep.sweep_file, "sweep YAML")->required();
  sweep_cmd->add_flag("--dry-run", sweep.dry_run, "only list (the default; nothing is run)");
  sweep_cmd->add_flag("--json", sweep.json, "print JSON");
  sweep_cmd->add_flag("--smoke", sweep.smoke,
                      "with the file's smoke: values (the sweep named <name>-smoke)");
  sweep_cmd->add_option("--results-root", sweep.results_root, "results root (to count done tasks)")
      ->capture_default_str();

  RunArgs run;
  auto* run_cmd = app.add_subcommand("run", "Run a sweep: alone, or under mpirun/srun (rank 0 "
                                            "coordinates, the other ranks work)");
  run_cmd->add_option("sweep", run.sweep_file, "sweep YAML")->required();
  run_cmd->add_option("--results-root", run.results_root, "results root")->capture_default_str();
  run_cmd->add_option("--cache", run.cache_dir, "cache folder (default <results-root>/cache)");
  run_cmd->add_flag("--resume,!--no-resume", run.resume,
                    "skip tasks that already have a result row (default on)");
  run_cmd->add_option("--retries", run.retries, "retries of a failed task")->capture_default_str();
  run_cmd->add_flag("--smoke", run.smoke,
                    "a tiny run with the file's smoke: values, into <results-root>/<name>-smoke");

  auto* slurm_cmd = app.add_subcommand("slurm", "Run a sweep as a Slurm job (submit) and follow it "
                                                "(status)");
  slurm_cmd->require_subcommand(1);
  SlurmSubmitArgs submit;
  auto* submit_cmd = slurm_cmd->add_subcommand(
      "submit", "Render the sbatch script of a sweep from a template and submit it (it requeues "
                "itself when preempted or near its time limit)");
  submit_cmd->add_option("sweep", submit.sweep_file, "sweep YAML")->required();
  submit_cmd->add_option("--nodes", submit.nodes, "nodes")->capture_default_str();
  submit_cmd
      ->add_option("--gpus-per-node", submit.gpus_per_node,
                   "GPUs per node, one worker rank each (0: CPU workers)")
      ->capture_default_str();
  submit_cmd->add_option("--workers-per-node", submit.workers_per_node,
                         "worker ranks per node (default: the GPUs, or 1 without)");
  submit_cmd->add_option("--cpus-per-task", submit.cpus_per_task, "CPUs per rank");
  submit_cmd->add_option("--time", submit.time, "time limit, e.g. 2-00:00:00");
  submit_cmd->add_option("--partition", submit.partition, "partition");
  submit_cmd->add_option("--account", submit.account, "account to charge");
  submit_cmd->add_option("--qos", submit.qos, "quality of service");
  submit_cmd->add_option("--mem", submit.mem, "memory per node, e.g. 64G");
  submit_cmd->add_option("--launcher", submit.launcher, "srun or mpirun")
      ->check(CLI::IsMember({"srun", "mpirun"}))
      ->capture_default_str();
  submit_cmd->add_option("--mpi", submit.mpi, "srun's MPI plugin")->capture_default_str();
  submit_cmd
      ->add_option("--signal-seconds", submit.signal_seconds,
                   "seconds before the time limit at which the job stops and requeues")
      ->capture_default_str();
  submit_cmd->add_option("--template", submit.template_file,
                         "sbatch template (default: vfp's slurm/vfp.sbatch)");
  submit_cmd->add_option("--vfp", submit.vfp_binary, "vfp binary the job runs (default: this one)");
  submit_cmd->add_option("--results-root", submit.results_root, "results root")
      ->capture_default_str();
  submit_cmd->add_option("--cache", submit.cache_dir,
                         "cache folder (default <results-root>/cache)");
  submit_cmd->add_option("--retries", submit.retries, "retries of a failed task")
      ->capture_default_str();
  submit_cmd->add_flag("--smoke", submit.smoke, "the sweep file's smoke run");
  submit_cmd->add_flag("--dry-run", submit.dry_run, "print the script; submit nothing");
  SlurmStatusArgs slurm_status;
  auto* status_cmd =
      slurm_cmd->add_subcommand("status", "A sweep's progress, results and Slurm jobs");
  status_cmd->add_option("sweep_dir", slurm_status.sweep_dir, "results/<sweep>")->required();
  status_cmd->add_flag("--json", slurm_status.json, "print JSON");

  ReportArgs report;
  auto* report_cmd =
      app.add_subcommand("report", "Print the result table of a sweep's results folder and write "
                                   "its report/ (tables, figures, index.html)");
  report_cmd->add_option("sweep_dir", report.sweep_dir, "results/<sweep>")->required();
  report_cmd->add_flag("--all", report.all,
                       "also configurations that are no longer in the sweep file");
  report_cmd
      ->add_option("--format", report.format,
                   "md, latex (booktabs), csv or json (every row and the nested selections)")
      ->check(CLI::IsMember({"md", "latex", "csv", "json"}))
      ->capture_default_str();
  report_cmd->add_option("--sort", report.sort, "auroc, auprc, c_index (best first) or sweep")
      ->check(CLI::IsMember({"auroc", "auprc", "c_index", "sweep"}))
      ->capture_default_str();
  report_cmd->add_option("--baseline", report.baseline,
                         "compare every row with this one (its position as printed, or a prefix "
                         "of its configuration id): corrected t-test over folds and DeLong on "
                         "pooled out-of-fold predictions");
  report_cmd->add_flag("--figures,!--no-figures", report.figures,
                       "draw the figures of report/index.html with gnuplot (default on)");
  report_cmd
      ->add_option("--risk-groups", report.risk_groups,
                   "Kaplan-Meier groups by pooled out-of-fold score (3: tertiles)")
      ->check(CLI::Range(2, 10))
      ->capture_default_str();

  CacheArgs cache;
  auto* cache_cmd = app.add_subcommand("cache", "Inspect (ls), check (verify) and clean (gc) the "
                                                "HDF5 patch caches");
  cache_cmd->add_option("action", cache.action, "ls, verify or gc")
      ->required()
      ->check(CLI::IsMember({"ls", "verify", "gc"}));
  cache_cmd->add_option("--results-root", cache.results_root, "results root")
      ->capture_default_str();
  cache_cmd->add_option("--cache", cache.cache_dir, "cache folder (default <results-root>/cache)");
  cache_cmd->add_option("--keep", cache.keep,
                        "gc: remove caches that none of these sweep files uses");
  cache_cmd->add_flag("--dry-run", cache.dry_run, "gc: only say what would be removed");

  ModelsArgs models;
  auto* models_cmd = app.add_subcommand(
      "models", "List the model registry's architectures with their parameter counts");
  models_cmd->add_option("--dims", models.dims, "spatial dims: 2 or 3")
      ->check(CLI::IsMember({2, 3}))
      ->capture_default_str();
  models_cmd->add_option("--in-channels", models.in_channels, "input channels")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  models_cmd->add_option("--outputs", models.outputs, "outputs (logits)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  models_cmd->add_flag("--json", models.json, "print JSON");
  models_cmd->add_option("--save", models.save,
                         "write a seeded, freshly initialised --arch as safetensors (with "
                         "--in-channels 3 --outputs 1000 in 2D: torchvision's ImageNet layout), a "
                         "stand-in for published weights in smoke runs");
  models_cmd->add_option("--arch", models.arch, "with --save: the registry name");
  models_cmd->add_option("--seed", models.seed, "with --save: torch's seed")->capture_default_str();
  models_cmd->add_option("--prefix", models.prefix,
                         "with --save: put before every key (encode_image.i3_resnet. gives "
                         "Merlin's checkpoint layout)");

  CoxArgs cox;
  auto* cox_cmd = app.add_subcommand(
      "cox", "Fit a Cox proportional-hazards model to a CSV (e.g. out-of-fold predictions)");
  cox_cmd->add_option("--csv", cox.csv, "the table (header row, comma-separated)")->required();
  cox_cmd->add_option("--time", cox.time, "column of follow-up times (0 or more)")->required();
  cox_cmd->add_option("--event", cox.event, "column of event indicators (1 event, 0 censored)")
      ->required();
  cox_cmd->add_option("--covariates", cox.covariates, "covariate columns, e.g. score,age,bmi")
      ->delimiter(',')
      ->required();
  cox_cmd->add_flag("--standardize", cox.standardize,
                    "also hazard ratios per standard deviation (sample SD) of each covariate");
  cox_cmd->add_option("--ties", cox.ties, "efron (as R) or breslow")
      ->check(CLI::IsMember({"efron", "breslow"}))
      ->capture_default_str();
  cox_cmd->add_flag("--json", cox.json, "print JSON with every number");
  cox_cmd
      ->add_option("--baseline", cox.baseline,
                   "also fit this baseline model (e.g. age,bmi) and compare Harrell's C: the "
                   "difference with a bootstrap 95 % interval")
      ->delimiter(',');
  cox_cmd->add_option("--bootstrap", cox.bootstrap, "resamples for the comparison's interval")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cox_cmd->add_option("--seed", cox.seed, "seed of the bootstrap")->capture_default_str();

  cox_cmd
      ->add_option("--uno", cox.uno_truncation,
                   "also Uno's censoring-weighted C, counting events up to this time (τ)")
      ->check(CLI::PositiveNumber);

  MetricsArgs metrics;
  auto* metrics_cmd = app.add_subcommand(
      "metrics", "AUROC and average precision of scores in a CSV, with DeLong and bootstrap "
                 "intervals; two scores are compared by DeLong's test");
  metrics_cmd->add_option("--csv", metrics.csv, "the table (header row, comma-separated)")
      ->required();
  metrics_cmd->add_option("--label", metrics.label, "column of labels (1 positive, 0 negative)")
      ->required();
  metrics_cmd->add_option("--score", metrics.scores, "score column(s): one, or two to compare")
      ->delimiter(',')
      ->required();
  metrics_cmd->add_option("--fold", metrics.fold,
                          "column of fold numbers: per-fold metrics, mean ± SD, a pooled "
                          "bootstrap stratified by fold and the corrected resampled t-test");
  metrics_cmd->add_option("--bootstrap", metrics.bootstrap, "bootstrap resamples")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  metrics_cmd->add_option("--seed", metrics.seed, "seed of the bootstrap")->capture_default_str();
  metrics_cmd->add_option("--confidence", metrics.confidence, "level of the intervals")
      ->check(CLI::Range(0.5, 0.9999))
      ->capture_default_str();
  metrics_cmd->add_option("--curves", metrics.curves,
                          "write ROC and PR curve points (pooled) to this folder");
  metrics_cmd->add_flag("--json", metrics.json, "print JSON with every number");

  ExportArgs export_args;
  auto* export_cmd = app.add_subcommand(
      "export", "Write a configuration's fold models, preprocessing, Cox model and validation "
                "figures as a self-contained bundle (docs/inference.md)");
  export_cmd->add_option("sweep_dir", export_args.sweep_dir, "results/<sweep>")->required();
  export_cmd->add_option("--config", export_args.config_id, "configuration id (or unique prefix)")
      ->required();
  export_cmd->add_option("--out", export_args.out, "the bundle folder (new or empty)")->required();

  PredictArgs predict;
  auto* predict_cmd = app.add_subcommand(
      "predict", "Fracture risk of new patients from their CT with an exported bundle");
  predict_cmd->add_option("--bundle", predict.bundle, "the bundle folder (vfp export)")->required();
  predict_cmd->add_option("--image", predict.image, "the patient's CT (any ITK format)");
  predict_cmd->add_option("--centroids", predict.centroids,
                          "the patient's centroids: VerSe JSON, a SubjectID;Vertebra;X;Y;Z table "
                          "or a label map");
  predict_cmd
      ->add_option("--centroid-format", predict.centroid_format,
                   "verse, csv or labelmap (default: told by the file name)")
      ->check(CLI::IsMember({"verse", "csv", "labelmap"}));
  predict_cmd
      ->add_option("--centroid-space", predict.centroid_space,
                   "a table's coordinates, lps or ras (default: as the bundle's training cohort)")
      ->check(CLI::IsMember({"lps", "ras"}));
  predict_cmd->add_option("--id", predict.subject_id, "the patient's id in the report");
  predict_cmd->add_option("--age", predict.age, "age (years), for the Cox model");
  predict_cmd->add_option("--bmi", predict.bmi, "BMI (kg/m²), for the Cox model");
  predict_cmd->add_option("--csv", predict.csv,
                          "many patients: subject_id,image,centroids[,age,bmi] (one batch)");
  predict_cmd->add_option("--svg", predict.svg_dir,
                          "write each patch the models saw as <id>_<vertebra>.svg here");
  predict_cmd->add_option("--png", predict.png_dir,
                          "write each patch the models saw as <id>_<vertebra>.png here (8-bit "
                          "grey; 3D: the central slice)");
  predict_cmd->add_option("--threads", predict.threads, "0: every core")->capture_default_str();
  predict_cmd->add_flag("--json", predict.json, "print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    run.log_level = log_level;
    if (*run_cmd)
      return run_command(run, &argc, &argv); // sets up per-rank logging itself
    vfp::log::setup(0, log_level);
    if (*synth_cmd)
      return synth_command(synth);
    if (*prep_cmd)
      return preprocess_command(prep);
    if (*sweep_cmd)
      return sweep_command(sweep);
    if (*report_cmd)
      return report_command(report);
    if (*submit_cmd)
      return slurm_submit_command(submit);
    if (*status_cmd)
      return slurm_status_command(slurm_status);
    if (*cache_cmd)
      return cache_command(cache);
    if (*models_cmd)
      return models_command(models);
    if (*cox_cmd)
      return cox_command(cox);
    if (*metrics_cmd)
      return metrics_command(metrics);
    if (*export_cmd)
      return export_command(export_args);
    if (*predict_cmd)
      return predict_command(predict);
  } catch (const vfp::Error& e) {
    std::cerr << "vfp: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vfp: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
