// The `lnn` program: one subcommand per file in src/cli/.
//
// Exit codes: 0 success (also `--help`), 1 an error while running (bad file,
// failed computation) or no subcommand given, 2 a usage error (unknown option,
// invalid option value). Every error is one line on stderr starting with
// "lnn: error: "; nothing escapes as a crash.
#include <exception>
#include <iostream>
#include <new>

#include "cli/common.hpp"
#include "lnn/errors.hpp"
#include "cpu/prepare_process.hpp"
#include "lnn/info.hpp"

namespace {

int usage_error(const CLI::App& app, const CLI::Error& e) {
  std::cerr << "lnn: error: " << e.what() << "\n";
  // Point at the help of the subcommand that was being parsed, if any.
  std::string where = "lnn";
  for (const CLI::App* sub : app.get_subcommands()) where += " " + sub->get_name();
  std::cerr << "Run '" << where << " --help' for more information.\n";
  return 2;
}

int run(int argc, char** argv) {
  CLI::App app{
      "lnn: a Lagrangian Neural Network engine (batched accelerations, energies, "
      "exact gradients)",
      "lnn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", lnn::version(), "Print the version and exit");

  lnn::cli::add_info_command(app);
  lnn::cli::add_init_command(app);
  lnn::cli::add_eval_command(app);
  lnn::cli::add_throughput_command(app);
  lnn::cli::add_systems_command(app);
  lnn::cli::add_generate_command(app);
  lnn::cli::add_train_command(app);
  lnn::cli::add_evaluate_command(app);
  lnn::cli::add_rollout_command(app);
  lnn::cli::add_sweep_command(app);
  lnn::cli::harden_options(app);
  // After the subcommands, which would otherwise inherit it.
  app.footer("Run 'lnn <command> --help' for the options of one command.");

  try {
    app.parse(argc, argv);  // the chosen subcommand's callback runs in here
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::RequiredError& e) {
    if (app.get_subcommands().empty()) {  // plain `lnn`: show what it can do
      std::cerr << app.help() << "lnn: error: a command is required\n";
      return 1;
    }
    return usage_error(app, e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  lnn::prepare_process(argv);  // may re-execute with OPENBLAS_CORETYPE, GOMP_SPINCOUNT set
  try {
    return run(argc, argv);
  } catch (const lnn::Error& e) {
    std::cerr << "lnn: error: " << e.what() << "\n";
  } catch (const CLI::Error& e) {  // thrown from inside a command
    std::cerr << "lnn: error: " << e.what() << "\n";
  } catch (const std::bad_alloc&) {
    std::cerr << "lnn: error: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "lnn: error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "lnn: error: unknown failure\n";
  }
  return 1;
}
