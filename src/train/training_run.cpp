// lnn::TrainingRun (include/lnn/train.hpp): train() in a precision chosen at
// run time; the precision switch lives in AnyModel (include/lnn/any_engine.hpp).
#include <utility>
#include <variant>

#include "lnn/optimizer.hpp"
#include "lnn/train.hpp"

namespace lnn LNN_CXX_API {

struct TrainingRun::Optimizer {
  std::variant<Adam<float>, Adam<double>> adam;
};

TrainingRun::TrainingRun(AnyModel model, TrainState state)
    : model_(std::move(model)), state_(std::move(state)) {}

TrainingRun::TrainingRun(const TrainConfig& config, Precision precision)
    : model_(config.spec, precision) {
  model_.initialize(config.init, config.seed);
  optimizer_ = model_.visit([&](const auto& m) {
    using T = typename std::remove_cvref_t<decltype(m.parameters())>::value_type;
    return std::make_unique<Optimizer>(
        Optimizer{Adam<std::remove_const_t<T>>(m.parameters().size(), config.optimizer)});
  });
}

TrainingRun TrainingRun::resume(const std::string& checkpoint) {
  auto load = [&](auto tag) {
    using T = decltype(tag);
    Checkpoint<T> ck = load_checkpoint<T>(checkpoint);
    TrainingRun run(AnyModel(std::move(ck.model)), std::move(ck.state));
    run.optimizer_ = std::make_unique<Optimizer>(Optimizer{std::move(ck.optimizer)});
    return run;
  };
  return with_precision(read_model_info(checkpoint).precision, load);  // as stored
}

TrainingRun::~TrainingRun() = default;
TrainingRun::TrainingRun(TrainingRun&&) noexcept = default;
TrainingRun& TrainingRun::operator=(TrainingRun&&) noexcept = default;

TrainResult TrainingRun::run(const TrainConfig& config, const TrainCallback& callback) {
  return model_.visit([&](auto& m) {
    using T = typename std::remove_cvref_t<decltype(m.parameters())>::value_type;
    return train(config, m, std::get<Adam<T>>(optimizer_->adam), state_, callback);
  });
}

}  // namespace lnn
