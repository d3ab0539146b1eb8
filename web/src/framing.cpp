#include "framing.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>

namespace family::web {

namespace {

std::atomic<int> uploads{0};  // see kMaxUploads

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == y;
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "GET /path HTTP/1.1": a method Pistache knows, a target, HTTP/1.x.
bool request_line(std::string_view line) {
    static const std::string_view kMethods[] = {"GET",  "POST",    "PUT",   "PATCH",  "DELETE",
                                                "HEAD", "OPTIONS", "TRACE", "CONNECT"};
    std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return false;
    std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
    std::string_view method = line.substr(0, sp1), version = line.substr(sp2 + 1);
    return std::find(std::begin(kMethods), std::end(kMethods), method) != std::end(kMethods) &&
           line.find(' ', sp2 + 1) == std::string_view::npos && version.size() == 8 &&
           version.substr(0, 7) == "HTTP/1." && (version[7] == '0' || version[7] == '1');
}

}  // namespace

int Framer::status(Reason r) {
    static const int kStatus[] = {0, 400, 400, 411, 400, 400, 413, 431, 503};
    return kStatus[r];
}

const char* Framer::title(Reason r) {
    switch (status(r)) {
        case 411:
            return "Length Required";
        case 413:
            return "Content Too Large";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        default:
            return "Bad Request";
    }
}

std::string Framer::refused_request(Reason r) {
    return "GET " + std::string(kRefusedPath) + std::to_string(int(r)) +
           " HTTP/1.1\r\nConnection: close\r\n\r\n";
}

Framer::Reason Framer::refused_reason(const std::string& path) {
    std::string n = path.substr(std::string(kRefusedPath).size());
    bool number = n.size() == 1 && n[0] > '0' && n[0] < '0' + kReasons;
    return number ? Reason(n[0] - '0') : kRequestLine;
}

const char* Framer::why(Reason r) {
    static const char* const kWhy[] = {
        "",
        "The request line is not METHOD TARGET HTTP/1.x.",
        "A header line is not NAME: VALUE.",
        "Send the body with a Content-Length, not a Transfer-Encoding.",
        "The request has more than one Content-Length.",
        "Content-Length is not a number of bytes.",
        "A request body holds at most 64 KiB; a GEDCOM file sent to POST /api/imports, at most "
        "the service's FAMILY_WEB_IMPORT_MB.",
        "The request line and headers hold more than 16 KiB.",
        "Other large uploads are being received; retry shortly.",
    };
    return kWhy[r];
}

Framer::Reason Framer::check_head(std::uint64_t& body) const {
    std::string_view head(head_);
    head.remove_suffix(4);  // the blank line
    std::size_t eol = head.find("\r\n");
    if (!request_line(head.substr(0, eol))) return kRequestLine;
    body = 0;
    int lengths = 0;
    bool authorized = false;
    while (eol != std::string_view::npos) {
        head.remove_prefix(eol + 2);
        eol = head.find("\r\n");
        std::string_view line = head.substr(0, eol);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0 || line[0] == ' ' || line[0] == '\t')
            return kHeaderLine;
        std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
        if (same_name(name, "transfer-encoding")) return kTransferEncoding;
        if (same_name(name, "authorization")) authorized = !value.empty();
        if (!same_name(name, "content-length")) continue;
        if (++lengths > 1) return kTwoLengths;
        if (value.empty() || value.size() > 15 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return kBadLength;
        body = std::stoull(std::string(value));
    }
    if (body <= kMaxAnnounced) return kNone;
    // Only a GEDCOM file may be larger, up to its own limit, sent with a
    // token (who holds none takes no upload's room).
    std::string_view line(head_.data(), head_.find("\r\n"));
    bool upload = line.rfind("POST /api/imports ", 0) == 0 || line.rfind("POST /api/imports?", 0) == 0;
    if (!upload || !authorized || body > upload_limit_) return kBodyTooLarge;
    return kNone;
}

Framer::~Framer() { end_upload(); }

void Framer::end_upload() {
    if (uploading_) --uploads;
    uploading_ = false;
}

void Framer::feed(std::string_view data, const std::function<void(const Piece&)>& out) {
    while (!refused_ && !data.empty()) {
        if (in_body_) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(body_, data.size()));
            out({data.substr(0, n)});
            data.remove_prefix(n);
            body_ -= n;
            in_body_ = body_ > 0;
            if (!in_body_) end_upload();
            continue;
        }
        // The head's blank line may straddle two reads: look from 3 bytes
        // before what is new.
        std::size_t before = head_.size();
        std::size_t from = before < 3 ? 0 : before - 3;
        head_.append(data.substr(0, std::min(data.size(), kMaxHead + 1 - before)));
        std::size_t end = head_.find("\r\n\r\n", from);
        if (end == std::string::npos || end + 4 > kMaxHead) {
            if (head_.size() > kMaxHead) {
                refused_ = true;
                out({{}, kHeadTooLarge});
                return;
            }
            out({data});  // the head so far: Pistache's header timeout runs
            return;
        }
        std::size_t head_end = end + 4 - before;  // where the head ends in `data`
        head_.resize(end + 4);
        Reason r = check_head(body_);
        if (!r && body_ > kMaxAnnounced) {
            if (++uploads > kMaxUploads) {
                --uploads;
                r = kUploadsBusy;
            } else {
                uploading_ = true;
            }
        }
        if (r) {
            refused_ = true;
            out({{}, r});
            return;
        }
        std::size_t n = head_end + static_cast<std::size_t>(
                                       std::min<std::uint64_t>(body_, data.size() - head_end));
        body_ -= n - head_end;
        in_body_ = body_ > 0;
        if (!in_body_) end_upload();
        head_.clear();
        out({data.substr(0, n)});
        data.remove_prefix(n);
    }
}

}  // namespace family::web
