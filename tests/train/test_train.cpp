// The training loop: it learns, it resumes exactly, it survives bad steps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "lnn/dataset.hpp"
#include "lnn/errors.hpp"
#include "lnn/generate.hpp"
#include "lnn/integrate.hpp"
#include "lnn/systems.hpp"
#include "lnn/train.hpp"

namespace lnn {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("lnn-train-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

TrainConfig mass_spring_config() {
  TrainConfig c;
  c.system = "mass_spring";
  c.spec.n = 1;
  c.spec.hidden = {32, 32};
  c.init = Init::xavier;
  c.optimizer.lr = 3e-3;
  c.optimizer.schedule = Schedule::cosine;
  c.steps = 400;
  c.batch = 64;
  c.validation_samples = 512;
  c.validate_every = 0;
  c.checkpoint_every = 0;
  c.seed = 3;
  return c;
}

template <class T>
TrainResult run(const TrainConfig& c, Model<T>& model, const TrainCallback& cb = {}) {
  model.initialize(c.init, c.seed);
  Adam<T> adam(model.parameters().size(), c.optimizer);
  TrainState state;
  return train(c, model, adam, state, cb);
}

// The mass–spring system (q̈ = −q, |q̈| up to 1 on its sampling box): a tiny
// network learns its Lagrangian to a held-out L1 error far below the
// error of predicting zero (0.5 on average).
TEST(Train, TinyModelLearnsTheMassSpring) {
  const TrainConfig c = mass_spring_config();
  Model<double> model(c.spec);
  double first = -1;
  const TrainResult r = run(c, model, [&](const TrainProgress& p) {
    if (p.step == 1) first = p.loss;
  });
  EXPECT_EQ(r.steps, 400);
  EXPECT_EQ(r.skipped, 0);
  EXPECT_GT(first, 0.1);
  EXPECT_LT(r.val_loss, 0.05) << "first loss " << first << ", final " << r.loss;
}

// Training to step 400 in one go and training to 150, saving a checkpoint
// there, and resuming from that file give the same parameters, bit for bit.
TEST(Train, ResumeFromCheckpointIsBitIdentical) {
  TrainConfig c = mass_spring_config();
  c.steps = 300;
  Model<float> whole(c.spec);
  run(c, whole);

  c.checkpoint = scratch("resume.safetensors").string();
  c.checkpoint_every = 150;
  Model<float> part(c.spec);
  struct Interrupt {};
  try {
    run(c, part, [](const TrainProgress& p) {
      if (p.step == 170) throw Interrupt{};  // after the checkpoint at 150
    });
    FAIL() << "not interrupted";
  } catch (const Interrupt&) {
  }
  Checkpoint<float> ck = load_checkpoint<float>(c.checkpoint);
  ASSERT_EQ(ck.state.step, 150);
  const TrainConfig saved = TrainConfig::from_json(ck.state.config);
  EXPECT_EQ(saved.to_json(), c.to_json());
  train(saved, ck.model, ck.optimizer, ck.state);
  ASSERT_EQ(ck.model.parameters().size(), whole.parameters().size());
  EXPECT_EQ(std::memcmp(ck.model.parameters().data(), whole.parameters().data(),
                        whole.parameters().size_bytes()),
            0);
  fs::remove_all(fs::path(c.checkpoint).parent_path());
}

// A dataset whose targets are NaN makes every step non-finite: they are
// skipped and counted, and the run stops with the reason after max_bad_steps.
TEST(Train, NonFiniteStepsAreSkippedThenStopTheRun) {
  const auto sys = make_system("mass_spring");
  DerivativeSetOptions g;
  g.samples = 200;
  Dataset d = generate_derivatives(*sys, g);
  // Targets at the edge of double: every |q̈ − target| is finite, their sum
  // over a batch is not, so every step's loss is infinite. (NaN targets at
  // points whose status is ok are refused when the file is read, issue 19.)
  for (double& a : d.accelerations) a = std::numeric_limits<double>::max();
  const std::string path = scratch("nan.h5").string();
  save_dataset(d, path);
  TrainConfig c = mass_spring_config();
  c.dataset = path;
  c.max_bad_steps = 5;
  c.batch = 16;
  Model<double> model(c.spec);
  std::int64_t skipped = 0;
  try {
    run(c, model, [&](const TrainProgress& p) { skipped = p.skipped; });
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("5 steps in a row"), std::string::npos) << e.what();
  }
  EXPECT_EQ(skipped, 5);
  fs::remove_all(fs::path(path).parent_path());
}

// Issue 19, defect 7: points whose status is not ok hold NaN targets (a
// failed solve, a trajectory that stopped) and are not data: training skips
// them instead of stepping on NaN losses; a set with no ok point is refused.
TEST(Train, PointsWithAFailedStatusAreNotTrainedOn) {
  const auto sys = make_system("mass_spring");
  DerivativeSetOptions g;
  g.samples = 300;
  Dataset d = generate_derivatives(*sys, g);
  for (std::size_t p = 0; p < d.points(); p += 3) {
    d.status[p] = static_cast<std::int8_t>(SolveStatus::singular);
    d.accelerations[p] = NAN;
  }
  TrajectorySetOptions o;
  o.trajectories = 6;
  o.t_end = 2.0;
  o.rate = 20.0;
  Dataset t = generate_trajectories(*sys, o);
  for (std::size_t b : {1, 4}) {
    t.status[b] = static_cast<std::int8_t>(TrajectoryStatus::non_finite);
    for (std::size_t s = 10; s < t.times.size(); ++s) {
      const std::size_t p = b * t.times.size() + s;
      t.states[2 * p] = t.states[2 * p + 1] = t.accelerations[p] = t.energies[p] = NAN;
    }
  }
  for (const Dataset* data : {&d, &t}) {
    SCOPED_TRACE(to_string(data->kind));
    const std::string path = scratch("failed.h5").string();
    save_dataset(*data, path);
    TrainConfig c = mass_spring_config();
    c.dataset = path;
    c.steps = 30;
    c.batch = 16;
    c.max_bad_steps = 3;
    Model<double> model(c.spec);
    const TrainResult r = run(c, model);
    EXPECT_EQ(r.skipped, 0);
    EXPECT_TRUE(std::isfinite(r.loss)) << r.loss;
    EXPECT_TRUE(std::isfinite(r.val_loss)) << r.val_loss;
  }
  for (auto& s : d.status) s = static_cast<std::int8_t>(SolveStatus::singular);
  const std::string path = scratch("all_failed.h5").string();
  save_dataset(d, path);
  TrainConfig c = mass_spring_config();
  c.dataset = path;
  Model<double> model(c.spec);
  try {
    run(c, model);
    FAIL() << "expected the dataset to be refused";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("no point has status ok"), std::string::npos) << e.what();
  }
  fs::remove_all(fs::path(path).parent_path());
}

// A run in which no step succeeded reports NaN figures, never 0 or -1 that
// read as results (issue 19: "final loss 0, validation L1 -1").
TEST(Train, NoGoodStepReportsNaNNotZero) {
  TrainConfig c = mass_spring_config();
  c.steps = 3;
  c.max_bad_steps = 10;
  c.validate_every = 0;
  Model<double> model(c.spec);
  for (double& v : model.parameters()) v = NAN;
  Adam<double> adam(model.parameters().size(), c.optimizer);
  TrainState state;
  const TrainResult r = train(c, model, adam, state, {});
  EXPECT_EQ(r.skipped, 3);
  EXPECT_TRUE(std::isnan(r.loss)) << r.loss;
}

TEST(Train, TrainsOnADatasetFile) {
  const auto sys = make_system("mass_spring");
  DerivativeSetOptions g;
  g.samples = 2000;
  const std::string path = scratch("data.h5").string();
  save_dataset(generate_derivatives(*sys, g), path);
  TrainConfig c = mass_spring_config();
  c.dataset = path;
  Model<double> model(c.spec);
  const TrainResult r = run(c, model);
  EXPECT_LT(r.val_loss, 0.05);
  fs::remove_all(fs::path(path).parent_path());
}

TEST(Train, MismatchesAreRefused) {
  TrainConfig c = mass_spring_config();
  ModelSpec other;
  other.n = 2;
  other.hidden = {8};
  Model<double> wrong(other);
  Adam<double> adam(wrong.parameters().size(), c.optimizer);
  TrainState state;
  EXPECT_THROW(train(c, wrong, adam, state), InvalidArgument);
  c.spec.n = 2;  // mass_spring has n = 1
  Model<double> two(c.spec);
  Adam<double> adam2(two.parameters().size(), c.optimizer);
  EXPECT_THROW(train(c, two, adam2, state), InvalidArgument);
  EXPECT_THROW(TrainConfig::from_json("{\"steps\": \"many\"}"), InvalidArgument);
  EXPECT_THROW(TrainConfig::from_json("not json"), InvalidArgument);
}

TEST(Train, ConfigRoundTripsThroughJson) {
  TrainConfig c = mass_spring_config();
  c.system_params = {{"k", 2.5}};
  c.box.q = {{-1, 1}};
  c.box.qdot = {{0, 0.5}};
  c.spec.embedding = {Embedding::angle};
  c.optimizer.schedule = Schedule::one_cycle;
  c.loss = Loss::mse;
  c.mass_penalty = 0.25;
  const TrainConfig back = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_TRUE(back.spec == c.spec);
}

TEST(Evaluate, AnExactModelOfNothingStillGivesFiniteNumbers) {
  // An untrained model evaluated briefly: the protocol runs end to end and
  // reports failures rather than crashing.
  ModelSpec spec;
  spec.hidden = {16, 16};
  spec.embedding = {Embedding::angle, Embedding::angle};
  Model<double> model(spec);
  model.initialize(Init::xavier, 1);
  EvaluateOptions o;
  o.trajectories = 4;
  o.t_end = 1;
  o.held_out = 500;
  const auto sys = make_system("double_pendulum");
  const EvaluateResult r = evaluate(model, *sys, o);
  EXPECT_EQ(r.energy_error.count + r.rollouts_failed, 4u);
  EXPECT_TRUE(std::isfinite(r.acc_l1));
}

TEST(Evaluate, SummaryPercentiles) {
  const Summary s = summarize({5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.p90, 4.6);
  EXPECT_DOUBLE_EQ(s.max, 5);
}

}  // namespace
}  // namespace lnn
