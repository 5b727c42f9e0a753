// `lnn init`: write a freshly initialized model file.
#include <iostream>
#include <memory>
#include <string>

#include "cli/common.hpp"
#include "lnn/model_file.hpp"

namespace lnn::cli {
namespace {

struct InitOptions {
  std::string out;
  SpecFlags spec;
  std::string precision = "f32";
  bool force = false;
};

void run_init(const InitOptions& opt) {
  const ModelSpec spec = opt.spec.spec();
  const Init scheme = opt.spec.init_scheme();
  const Precision precision = parse_precision(opt.precision);
  // save_model renames a temporary over its path: never do that to a device
  // or FIFO, and replace a symbolic link's target, not the link.
  const OutputTarget target = resolve_output(opt.out);
  if (target.special) {
    throw FileError(opt.out,
                    "exists and is not a regular file; a model file is written with "
                    "a rename, which would replace it");
  }
  refuse_existing(opt.out, opt.force, "--out");
  AnyModel model(spec, precision);
  model.initialize(scheme, opt.spec.seed);
  model.save(target.path);
  std::cout << "lnn init: wrote " << opt.out << " (" << describe(spec) << ", init "
            << to_string(scheme) << ", seed " << opt.spec.seed << ", " << to_string(precision)
            << ")\n";
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto opt = std::make_shared<InitOptions>();
  CLI::App* sub = app.add_subcommand("init", "Create a freshly initialized model file");
  sub->add_option("--out,-o", opt->out, "Model file to write (safetensors)")->required();
  add_spec_flags(*sub, opt->spec);
  sub->add_option("--precision", opt->precision, "Stored precision: f32 | f64")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f64"}));
  sub->add_flag("--force", opt->force, "Replace an existing --out (never done otherwise)");
  sub->callback([opt] { run_init(*opt); });
}

}  // namespace lnn::cli
