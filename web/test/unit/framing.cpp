// Request framing before Pistache's parser: pipelined requests one by one,
// bodies by Content-Length, reads split anywhere, and the refusals.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "framing.hpp"

using namespace family::web;

namespace {

struct Result {
    std::vector<std::string> pieces;  // what Pistache is handed, read by read
    Framer::Reason refused = Framer::kNone;
};

// Feeds `reads` in order.
Result run(const std::vector<std::string>& reads) {
    Framer f;
    Result r;
    for (const std::string& read : reads)
        f.feed(read, [&](const Framer::Piece& p) {
            if (p.refused)
                r.refused = p.refused;
            else
                r.pieces.emplace_back(p.bytes);
        });
    return r;
}

Framer::Reason refusal(const std::string& head) {
    return run({head}).refused;
}

const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string post =
    "POST /api/persons HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{\"a\"}";

}  // namespace

BOOST_AUTO_TEST_CASE(one_request_one_piece) {
    Result r = run({get});
    BOOST_TEST(r.refused == Framer::kNone);
    BOOST_TEST(r.pieces.size() == 1u);
    BOOST_TEST(r.pieces.at(0) == get);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_handed_one_at_a_time) {
    Result r = run({get + post + get});
    BOOST_TEST(r.pieces.size() == 3u);
    BOOST_TEST(r.pieces.at(0) == get);
    BOOST_TEST(r.pieces.at(1) == post);
    BOOST_TEST(r.pieces.at(2) == get);
}

BOOST_AUTO_TEST_CASE(reads_split_anywhere_keep_requests_apart) {
    // Every split of three pipelined requests into two reads: the pieces
    // put together give the input, and no piece holds two requests' bytes.
    const std::string all = post + get + post;
    const std::size_t ends[] = {post.size(), post.size() + get.size(), all.size()};
    for (std::size_t cut = 0; cut <= all.size(); ++cut) {
        Result r = run({all.substr(0, cut), all.substr(cut)});
        BOOST_TEST(r.refused == Framer::kNone);
        std::string joined;
        for (const std::string& p : r.pieces) {
            std::size_t start = joined.size();
            joined += p;
            bool crosses = false;
            for (std::size_t e : ends) crosses |= start < e && e < joined.size();
            BOOST_TEST(!crosses, "cut " << cut << ": a piece holds two requests");
        }
        BOOST_TEST(joined == all, "cut " << cut);
    }
    // Byte by byte.
    std::vector<std::string> bytes;
    for (char c : all) bytes.emplace_back(1, c);
    std::string joined;
    for (const std::string& p : run(bytes).pieces) joined += p;
    BOOST_TEST(joined == all);
}

BOOST_AUTO_TEST_CASE(content_length_must_be_a_number_of_bytes) {
    auto with = [](const std::string& value) {
        return refusal("POST / HTTP/1.1\r\nContent-Length:" + value + "\r\n\r\n");
    };
    for (const char* bad : {" -1", " 9223372036854775808", " 18446744073709551616", " 1e3", "", " ",
                            " 0x10", " 5 5", " +5", " 1234567890123456"})
        BOOST_TEST(with(bad) == Framer::kBadLength, "Content-Length:" << bad);
    BOOST_TEST(with(" 1048577") == Framer::kBodyTooLarge);
    BOOST_TEST(with(" 1048576") == Framer::kNone);
    BOOST_TEST(with("\t 7 \t") == Framer::kNone);  // spaces around it are fine
    BOOST_TEST(refusal("POST / HTTP/1.1\r\ncontent-LENGTH: 1\r\nContent-Length: 1\r\n\r\n") ==
               Framer::kTwoLengths);
    BOOST_TEST(refusal("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") ==
               Framer::kTransferEncoding);
    BOOST_TEST(refusal("POST / HTTP/1.1\r\nContent-Length: 3\r\ntransfer-encoding: x\r\n\r\n") ==
               Framer::kTransferEncoding);
    // Other headers that look alike are left alone.
    BOOST_TEST(refusal("GET / HTTP/1.1\r\nContent-Lengths: x\r\nX-Content-Length: -1\r\n\r\n") ==
               Framer::kNone);
}

BOOST_AUTO_TEST_CASE(request_lines_and_header_lines) {
    for (const char* ok : {"GET / HTTP/1.1", "DELETE /api/x?y=1 HTTP/1.0", "OPTIONS * HTTP/1.1"})
        BOOST_TEST(refusal(std::string(ok) + "\r\n\r\n") == Framer::kNone, ok);
    for (const char* bad : {"GET /", "GET  / HTTP/1.1", "GET / HTTP/2.0", "GET / HTTP/1.10",
                            "BREW / HTTP/1.1", "GET / HTTP/1.1 x", "get / HTTP/1.1", "", " GET / "})
        BOOST_TEST(refusal(std::string(bad) + "\r\n\r\n") == Framer::kRequestLine, bad);
    for (const char* bad : {"NoColon", ": empty name", " Folded: line", "\tFolded: tab"})
        BOOST_TEST(refusal("GET / HTTP/1.1\r\nHost: x\r\n" + std::string(bad) + "\r\n\r\n") ==
                       Framer::kHeaderLine,
                   bad);
}

BOOST_AUTO_TEST_CASE(a_head_over_16_kib_is_refused_and_nothing_after) {
    std::string big = "GET / HTTP/1.1\r\nX: " + std::string(Framer::kMaxHead, 'a');
    Result r = run({big.substr(0, 10000), big.substr(10000), get});
    BOOST_TEST(r.refused == Framer::kHeadTooLarge);
    BOOST_TEST(r.pieces.size() == 1u);  // the first read, before it was too much
    // Exactly 16 KiB with its blank line passes.
    std::string fits = "GET / HTTP/1.1\r\nX: ";
    fits += std::string(Framer::kMaxHead - fits.size() - 4, 'a') + "\r\n\r\n";
    BOOST_TEST(fits.size() == Framer::kMaxHead);
    BOOST_TEST(refusal(fits) == Framer::kNone);
    BOOST_TEST(refusal(fits.substr(0, 20) + "a" + fits.substr(20)) == Framer::kHeadTooLarge);
    // A refused connection takes nothing more.
    Framer f;
    int calls = 0;
    f.feed("BAD\r\n\r\n", [&](const Framer::Piece&) { ++calls; });
    BOOST_TEST(f.refused());
    f.feed(get, [&](const Framer::Piece&) { ++calls; });
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(every_refusal_has_a_status_and_a_reason) {
    BOOST_TEST(Framer::status(Framer::kNone) == 0);
    for (int r = Framer::kRequestLine; r < Framer::kReasons; ++r) {
        auto reason = static_cast<Framer::Reason>(r);
        BOOST_TEST((Framer::status(reason) >= 400 && Framer::status(reason) < 600));
        BOOST_TEST(std::string(Framer::why(reason)).size() > 10u);
    }
    BOOST_TEST(Framer::status(Framer::kTransferEncoding) == 411);
    BOOST_TEST(Framer::title(Framer::kTransferEncoding) == std::string("Length Required"));
    BOOST_TEST(Framer::title(Framer::kBodyTooLarge) == std::string("Content Too Large"));
    BOOST_TEST(Framer::title(Framer::kHeadTooLarge) ==
               std::string("Request Header Fields Too Large"));
    BOOST_TEST(Framer::title(Framer::kBadLength) == std::string("Bad Request"));
    // The request a refusal becomes names its reason; a path that does not
    // is a bad request line.
    std::string request = Framer::refused_request(Framer::kHeadTooLarge);
    BOOST_TEST(request == "GET /.family/refused/7 HTTP/1.1\r\nConnection: close\r\n\r\n");
    BOOST_TEST(Framer::refused_reason("/.family/refused/7") == Framer::kHeadTooLarge);
    BOOST_TEST(Framer::refused_reason("/.family/refused/8") == Framer::kUploadsBusy);
    for (const char* path : {"/.family/refused/", "/.family/refused/0", "/.family/refused/9",
                             "/.family/refused/77", "/.family/refused/x"})
        BOOST_TEST(Framer::refused_reason(path) == Framer::kRequestLine, path);
    BOOST_TEST(Framer::status(Framer::kBodyTooLarge) == 413);
    BOOST_TEST(Framer::status(Framer::kHeadTooLarge) == 431);
    BOOST_TEST(Framer::status(Framer::kUploadsBusy) == 503);
    BOOST_TEST(Framer::title(Framer::kUploadsBusy) == std::string("Service Unavailable"));
}

BOOST_AUTO_TEST_CASE(uploads_to_imports_only_and_two_at_once) {
    // A body over 1 MiB only for POST /api/imports, up to the upload limit.
    auto head = [](const char* line, std::uint64_t length) {
        return std::string(line) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: " +
               std::to_string(length) + "\r\n\r\n";
    };
    const std::uint64_t mib = 1 << 20;
    auto refused = [&](Framer& f, const std::string& bytes) {
        Framer::Reason r = Framer::kNone;
        f.feed(bytes, [&](const Framer::Piece& p) { r = p.refused; });
        return r;
    };
    {
        Framer f(8 * mib);
        BOOST_TEST(refused(f, head("POST /api/persons", 2 * mib)) == Framer::kBodyTooLarge);
    }
    {
        Framer f(8 * mib);
        BOOST_TEST(refused(f, head("POST /api/imports", 9 * mib)) == Framer::kBodyTooLarge);
    }
    {
        Framer f(8 * mib);
        BOOST_TEST(refused(f, head("PUT /api/imports", 2 * mib)) == Framer::kBodyTooLarge);
    }
    {
        Framer f(8 * mib);  // no token, no upload
        BOOST_TEST(refused(f, "POST /api/imports HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n") ==
                   Framer::kBodyTooLarge);
    }
    // Two uploads received at once; a third waits its turn (503) until one
    // has its body, or its connection goes.
    auto a = std::make_unique<Framer>(8 * mib), b = std::make_unique<Framer>(8 * mib);
    BOOST_TEST(refused(*a, head("POST /api/imports", 2 * mib)) == Framer::kNone);
    BOOST_TEST(refused(*b, head("POST /api/imports?x=1", 2 * mib)) == Framer::kNone);
    {
        Framer c(8 * mib);
        BOOST_TEST(refused(c, head("POST /api/imports", 2 * mib)) == Framer::kUploadsBusy);
    }
    {
        Framer small(8 * mib);  // a body of 1 MiB or less is no upload
        BOOST_TEST(refused(small, head("POST /api/imports", mib)) == Framer::kNone);
    }
    BOOST_TEST(refused(*a, std::string(2 * mib, 'x')) == Framer::kNone);  // a's body is in
    Framer d(8 * mib);
    BOOST_TEST(refused(d, head("POST /api/imports", 2 * mib)) == Framer::kNone);
    b.reset();  // b's connection closed half-way
    Framer e(8 * mib);
    BOOST_TEST(refused(e, head("POST /api/imports", 2 * mib) + std::string(2 * mib, 'y')) ==
               Framer::kNone);  // head and body in one read
    Framer g(8 * mib);
    BOOST_TEST(refused(g, head("POST /api/imports", 2 * mib)) == Framer::kNone);
}
