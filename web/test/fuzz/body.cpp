// libFuzzer target: what the service reads from a client before anything
// else runs (src/input.cpp): a request body as JSON with its fields read
// every way a route reads them, a path or query number, a query value's
// percent-encoding, and a page's limit and cursor. Anything may be
// refused, with a Problem of 400 or 422; nothing else may come out.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "input.hpp"

namespace {
void read_every_way(const family::web::Body& b) {
    for (const char* name : {"a", "first_name", "father_id", "father_rank", "account"}) {
        auto attempt = [&](auto read) {
            try {
                read();
            } catch (const family::web::Problem& p) {
                if (p.status != 422) std::abort();
            }
        };
        attempt([&] { b.text(name, 200); });
        attempt([&] { b.id(name); });
        attempt([&] { b.rank(name); });
        attempt([&] { b.flag(name); });
        attempt([&] { b.sex(name); });
        attempt([&] { b.date(name); });
        attempt([&] { (void)b.is_null(name); });
        attempt([&] {
            if (auto inner = b.object(name, {"email", "password", "is_staff"})) {
                inner->text("email", 254);
                inner->flag("is_staff");
            }
        });
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    if (auto n = family::web::positive_integer(text); n && *n <= 0) std::abort();
    try {
        family::web::Body body(text, {"a", "first_name", "father_id", "father_rank", "account"});
        read_every_way(body);
    } catch (const family::web::Problem& p) {
        if (p.status != 400 && p.status != 422) std::abort();
    }
    // A query value: decoded, it encodes back to what decodes to the same.
    if (std::optional<std::string> v = family::web::percent_decode(text))
        if (family::web::percent_decode(family::web::percent_encode(*v)) != v) std::abort();
    // A page's limit and cursor: read, or refused with 422; a cursor that
    // reads was one make_cursor() writes.
    auto page = [&](const std::optional<std::string>& limit,
                    const std::optional<std::string>& cursor, char kind, std::size_t fields) {
        try {
            family::web::PageQuery q(limit, cursor, kind, fields);
            if (q.limit < 1 || q.limit > family::web::PageQuery::kMost) std::abort();
            if (cursor && family::web::make_cursor(kind, q.after) != *cursor) std::abort();
            for (std::size_t i = 0; i < q.after.size(); ++i) q.number(i, 0);
        } catch (const family::web::Problem& p) {
            if (p.status != 422) std::abort();
        }
    };
    page(text, std::nullopt, 'C', 1);
    page(std::nullopt, text, 'L', 3);
    page(std::nullopt, text, 'C', 1);
    return 0;
}
