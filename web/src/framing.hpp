// Where each request a connection sends begins and ends, decided before
// Pistache's parser sees the bytes. Pistache 0.0.5 parses one request per
// read (the pipelined requests after it in the same read are lost), and
// answers a Content-Length it cannot hold (-1, 2^63) with a 500 that bypasses
// the service. The Framer hands Pistache one request's bytes at a time and
// refuses framing it cannot trust. No Pistache here: unit-tested and fuzzed
// on its own (web/test/fuzz).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace family::web {

class Framer {
  public:
    // Why a request's framing is refused: its status and what to tell.
    enum Reason {
        kNone,
        kRequestLine,
        kHeaderLine,
        kTransferEncoding,
        kTwoLengths,
        kBadLength,
        kBodyTooLarge,
        kHeadTooLarge,
        kUploadsBusy,
        kReasons
    };
    // `upload_limit`: the most a GEDCOM file sent to POST /api/imports may
    // announce (FAMILY_WEB_IMPORT_MB); other bodies, kMaxAnnounced.
    explicit Framer(std::uint64_t upload_limit = kMaxAnnounced) : upload_limit_(upload_limit) {}
    ~Framer();
    Framer(const Framer&) = delete;
    Framer& operator=(const Framer&) = delete;
    static int status(Reason r);
    static const char* title(Reason r);  // the status's reason phrase
    static const char* why(Reason r);
    // The request a refusal becomes, for the service to answer (with
    // Connection: close): GET kRefusedPath + the reason's number.
    static constexpr const char* kRefusedPath = "/.family/refused/";
    static std::string refused_request(Reason r);
    // The reason a refused request's path names (kRequestLine if none).
    static Reason refused_reason(const std::string& path);

    // What to do with bytes: hand `bytes` to the HTTP parser as one read, or
    // (`refused` not kNone) stop reading this connection and answer.
    struct Piece {
        std::string_view bytes;
        Reason refused = kNone;
    };
    static constexpr std::size_t kMaxHead = 16 * 1024;  // request line and headers
    // The most a body may announce: room above the service's own limit
    // (kMaxBody, 64 KiB), so that handle() answers a bigger one itself.
    static constexpr std::uint64_t kMaxAnnounced = 1024 * 1024;
    // Bodies over kMaxAnnounced (uploads) received at once, by all
    // connections: each is held whole in memory until answered.
    static constexpr int kMaxUploads = 2;

    // Splits `data` (what one read gave) into pieces, in order; no piece
    // holds bytes of two requests. After a refusal the rest is dropped, and
    // so is everything fed later.
    void feed(std::string_view data, const std::function<void(const Piece&)>& out);

    bool refused() const { return refused_; }

  private:
    // Checks a complete head (up to its blank line): kNone and the body's
    // length, or why it is refused.
    Reason check_head(std::uint64_t& body) const;

    void end_upload();

    std::uint64_t upload_limit_;
    bool uploading_ = false;  // this connection's body counts as an upload
    std::string head_;        // the request in progress's head, so far
    std::uint64_t body_ = 0;  // bytes of its body still to come
    bool in_body_ = false;
    bool refused_ = false;
};

}  // namespace family::web
