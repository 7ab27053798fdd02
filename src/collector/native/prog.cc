// Program-level calls: BPF_PROG_TEST_RUN (synchronously, or on the libuv thread pool so the event
// loop can drain a ring buffer the program is filling), run statistics, and the global switch
// that makes the kernel count them.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <vector>

#include "weft.h"

namespace weft {

namespace {

// Room for a program that grows the packet (bpf_skb_change_tail and friends).
constexpr size_t kDataOutSlack = 4096;

struct TestRun {
  int fd = -1;
  std::vector<uint8_t> data, ctx, out;
  uint32_t repeat = 1;
  uint32_t retval = 0, duration = 0, outSize = 0;
  int err = 0;

  void Parse(const Napi::CallbackInfo& info) {
    fd = ArgInt(info, 0, "progFd");
    Napi::Buffer<uint8_t> d = ArgBuffer(info, 1, "data");
    data.assign(d.Data(), d.Data() + d.Length());
    repeat = static_cast<uint32_t>(std::max(ArgInt(info, 2, "repeat"), 1));
    if (info.Length() > 3 && info[3].IsBuffer()) {
      Napi::Buffer<uint8_t> c = info[3].As<Napi::Buffer<uint8_t>>();
      ctx.assign(c.Data(), c.Data() + c.Length());
    }
    out.resize(data.size() + kDataOutSlack);
  }

  void Run() {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(data.size()), .data_size_out = static_cast<uint32_t>(out.size()),
                .ctx_in = ctx.empty() ? nullptr : ctx.data(), .ctx_size_in = static_cast<uint32_t>(ctx.size()),
                .repeat = static_cast<int>(repeat));
    err = bpf_prog_test_run_opts(fd, &opts) ? errno : 0;
    retval = opts.retval;
    duration = opts.duration;
    outSize = std::min<uint32_t>(opts.data_size_out, out.size());
  }

  Napi::Value Result(Napi::Env env) {
    if (err) ThrowErrno(env, "BPF_PROG_TEST_RUN failed", err);
    Napi::Object o = Napi::Object::New(env);
    o.Set("retval", retval);
    o.Set("durationNs", duration);
    o.Set("dataOut", Napi::Buffer<uint8_t>::Copy(env, out.data(), outSize));
    return o;
  }
};

// testRun(progFd, data, repeat, ctx?) → { retval, durationNs, dataOut }
Napi::Value TestRunSync(const Napi::CallbackInfo& info) {
  TestRun t;
  t.Parse(info);
  t.Run();
  return t.Result(info.Env());
}

class TestRunWorker : public Napi::AsyncWorker {
 public:
  TestRunWorker(Napi::Env env, TestRun t)
      : Napi::AsyncWorker(env, "weft.testRun"), t_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { t_.Run(); }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(t_.Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  TestRun t_;
  Napi::Promise::Deferred deferred_;
};

// testRunAsync(progFd, data, repeat, ctx?) → Promise of the same, run on the thread pool.
Napi::Value TestRunAsync(const Napi::CallbackInfo& info) {
  TestRun t;
  t.Parse(info);
  auto* w = new TestRunWorker(info.Env(), std::move(t));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// progInfo(progFd) → { id, name, runCount, runTimeNs, recursionMisses }
Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "progFd");
  bpf_prog_info pi;
  memset(&pi, 0, sizeof(pi));
  uint32_t len = sizeof(pi);
  if (bpf_obj_get_info_by_fd(fd, &pi, &len) != 0) ThrowErrno(env, "cannot read program info", errno);
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", pi.id);
  o.Set("name", pi.name);
  o.Set("runCount", static_cast<double>(pi.run_cnt));
  o.Set("runTimeNs", static_cast<double>(pi.run_time_ns));
  o.Set("recursionMisses", static_cast<double>(pi.recursion_misses));
  return o;
}

// enableStats() → fd; the kernel counts run time until every such fd is closed.
Napi::Value EnableStats(const Napi::CallbackInfo& info) {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) ThrowErrno(info.Env(), "cannot enable BPF run-time statistics", errno);
  return Napi::Number::New(info.Env(), fd);
}

}  // namespace

void InitProg(Napi::Env env, Napi::Object exports) {
  exports.Set("testRun", Napi::Function::New(env, TestRunSync));
  exports.Set("testRunAsync", Napi::Function::New(env, TestRunAsync));
  exports.Set("progInfo", Napi::Function::New(env, ProgInfo));
  exports.Set("enableStats", Napi::Function::New(env, EnableStats));
}

}  // namespace weft
