// RingBuffer: a BPF ring buffer drained from the Node event loop. libuv polls the ring buffer's
// epoll fd; on each wakeup we consume every waiting record and make ONE JS call with all of them,
// packed: one Buffer with the records back to back and their lengths (one allocation per batch,
// not one per record; the TypeScript side hands out views).
// consume() does the same on demand, for records the kernel submitted without a wakeup
// (BPF_RB_NO_WAKEUP). No thread, no timer, no busy polling. The open poll handle keeps the process alive (uv_ref),
// close() releases it.
#include <errno.h>
#include <uv.h>

#include <bpf/libbpf.h>

#include <cstring>
#include <vector>

#include "weft.h"

namespace weft {

namespace {

class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("RingBuffer", DefineClass(env, "RingBuffer", {InstanceMethod("consume", &RingBuffer::Consume),
                                                              InstanceMethod("close", &RingBuffer::Close)}));
  }

  // new RingBuffer(mapFd, onRecords(data: Buffer, lengths: Uint32Array))
  explicit RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
    Napi::Env env = info.Env();
    int fd = ArgInt(info, 0, "mapFd");
    if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(env, "onRecords must be a function");
    ClearLibbpfLog();
    rb_ = ring_buffer__new(fd, &RingBuffer::OnSample, this, nullptr);
    if (!rb_) ThrowErrno(env, "cannot open ring buffer", errno);
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    int err = uv_poll_init(loop, poll_, ring_buffer__epoll_fd(rb_));
    if (err == 0) err = uv_poll_start(poll_, UV_READABLE, &RingBuffer::OnReadable);
    if (err) {
      ring_buffer__free(rb_);
      rb_ = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
      ThrowErrno(env, "cannot poll ring buffer", -err);
    }
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    // While open, JS need not hold this object for records to keep arriving.
    Ref();
  }

  ~RingBuffer() override { Stop(); }

 private:
  static int OnSample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<RingBuffer*>(ctx);
    const auto* bytes = static_cast<const uint8_t*>(data);
    self->data_.insert(self->data_.end(), bytes, bytes + size);
    self->lengths_.push_back(static_cast<uint32_t>(size));
    return 0;
  }

  // Consumes every record waiting now; returns how many. They wait in data_ / lengths_ for Packed.
  uint32_t Drain() {
    data_.clear();
    lengths_.clear();
    // Our sample callback never fails, so consume() cannot stop early.
    ring_buffer__consume(rb_);
    return static_cast<uint32_t>(lengths_.size());
  }

  // The arguments of one onRecords call: the drained records as (data, lengths).
  std::vector<napi_value> Packed(Napi::Env env) {
    Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::Copy(env, data_.data(), data_.size());
    Napi::Uint32Array lengths = Napi::Uint32Array::New(env, lengths_.size());
    std::memcpy(lengths.Data(), lengths_.data(), lengths_.size() * sizeof(uint32_t));
    // A burst must not keep its peak size allocated for the life of the consumer.
    if (data_.capacity() > kKeepBytes) {
      std::vector<uint8_t>().swap(data_);
      std::vector<uint32_t>().swap(lengths_);
    }
    return {data, lengths};
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<RingBuffer*>(handle->data);
    if (!self->rb_) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    if (self->Drain() == 0) return;  // a wakeup with nothing new: no call
    self->delivering_ = true;
    try {
      // MakeCallback runs microtasks after the call, as any libuv-driven callback should.
      self->callback_.MakeCallback(env.Global(), self->Packed(env));
    } catch (const Napi::Error& e) {
      // A throwing consumer must not take the addon down: hand it to process 'uncaughtException'.
      napi_fatal_exception(env, e.Value());
    }
    self->delivering_ = false;
  }

  // consume(): delivers every record waiting now through onRecords, synchronously, and returns
  // how many. Called from inside onRecords (or after close) it does nothing and returns 0, so a
  // batch is never delivered into the middle of another. What onRecords throws reaches the caller.
  Napi::Value Consume(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!rb_ || delivering_) return Napi::Number::New(env, 0);
    uint32_t n = Drain();
    if (n > 0) {
      delivering_ = true;
      try {
        callback_.Call(env.Global(), Packed(env));
      } catch (...) {
        delivering_ = false;
        throw;
      }
      delivering_ = false;
    }
    return Napi::Number::New(env, n);
  }

  void Stop() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (rb_) {
      Stop();
      callback_.Reset();
      Unref();
    }
    return info.Env().Undefined();
  }

  ring_buffer* rb_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
  static constexpr size_t kKeepBytes = 1 << 20;
  std::vector<uint8_t> data_;
  std::vector<uint32_t> lengths_;
  bool delivering_ = false;
};

}  // namespace

void InitRingBuffer(Napi::Env env, Napi::Object exports) { RingBuffer::Init(env, exports); }

}  // namespace weft
