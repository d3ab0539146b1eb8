// Request bodies and path numbers: what is accepted, and which status what
// is refused gets.
#include <boost/test/unit_test.hpp>

#include "input.hpp"

using namespace family::web;

namespace {
int status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Problem& p) {
        return p.status;
    }
    return 0;
}
}  // namespace

BOOST_AUTO_TEST_CASE(body_reads_known_fields) {
    Body b(R"({"first_name": "Ann", "father_id": 7, "father_rank": 5, "ok": true, "m": null})",
           {"first_name", "father_id", "father_rank", "ok", "m", "x"});
    BOOST_TEST(*b.text("first_name", 200) == "Ann");
    BOOST_TEST(*b.id("father_id") == 7);
    BOOST_TEST(*b.rank("father_rank") == 5);
    BOOST_TEST(*b.flag("ok"));
    BOOST_TEST(b.is_null("m"));
    BOOST_TEST(!b.is_null("x"));
    BOOST_TEST(!b.has("x"));
    BOOST_TEST(!b.text("x", 10).has_value());
    BOOST_TEST(!b.id("x").has_value());
    BOOST_TEST(!b.rank("x").has_value());
    BOOST_TEST(!b.flag("x").has_value());
    BOOST_TEST(!b.object("x", {}).has_value());
    BOOST_TEST(Body::required(b.id("father_id"), "father_id") == 7);
    BOOST_TEST(status_of([&] { Body::required(b.id("x"), "x"); }) == 422);
}

BOOST_AUTO_TEST_CASE(body_refuses_what_cannot_be_read_with_400) {
    for (const char* text : {"", "{", "[1]", "\"s\"", "{} {}", "{\"a\": 1e999}",
                             "{\"a\": \"\xff\"}", "{\"a\": \"\xc3\"}", "nul"})
        BOOST_TEST(status_of([&] { Body(text, {"a"}); }) == 400, text);
}

BOOST_AUTO_TEST_CASE(body_refuses_what_is_not_allowed_with_422) {
    auto field = [](const std::string& json, const std::function<void(const Body&)>& get) {
        return status_of([&] { get(Body(json, {"a"})); });
    };
    BOOST_TEST(status_of([] { Body(R"({"b": 1})", {"a"}); }) == 422);
    auto id = [](const Body& b) { b.id("a"); };
    for (const char* v : {"0", "-1", "1.5", "\"1\"", "true", "null", "9223372036854775808",
                          "18446744073709551615", "{}"})
        BOOST_TEST(field(std::string("{\"a\": ") + v + "}", id) == 422, v);
    BOOST_TEST(field(R"({"a": 9223372036854775807})", id) == 0);
    auto rank = [](const Body& b) { b.rank("a"); };
    for (const char* v : {"0", "6", "-3", "2.5", "\"3\"", "18446744073709551615"})
        BOOST_TEST(field(std::string("{\"a\": ") + v + "}", rank) == 422, v);
    auto text = [](const Body& b) { b.text("a", 3); };
    for (const char* v : {"1", "\"abcd\"", "\"a\\u0000\"", "\"a\\nb\"", "[]"})
        BOOST_TEST(field(std::string("{\"a\": ") + v + "}", text) == 422, v);
    // What the database's family.printable() refuses: C0, DEL, C1 (U+0085,
    // U+009B), line and paragraph separators, bidi embeddings, overrides and
    // isolates; the characters beside them pass.
    for (const char* v :
         {"\"\\u007f\"", "\"\\u0085\"", "\"\\u009b\"", "\"\\u2028\"", "\"\\u2029\"", "\"\\u202a\"",
          "\"\\u202e\"", "\"\\u2066\"", "\"\\u2069\"", "\"a\\u202eb\""})
        BOOST_TEST(field(std::string("{\"a\": ") + v + "}", text) == 422, v);
    for (const char* v : {"\"~\"", "\"\\u00a0\"", "\"\\u2027\"", "\"\\u202f\"", "\"\\u2065\"",
                          "\"\\u206a\"", "\"\\ud83d\\ude00\"", "\"\\u4e2d\""})
        BOOST_TEST(field(std::string("{\"a\": ") + v + "}", text) == 0, v);
    // Characters, not bytes: three two-byte letters fit.
    BOOST_TEST(field("{\"a\": \"\xc3\xa9\xc3\xa9\xc3\xa9\"}", text) == 0);
    BOOST_TEST(field(R"({"a": 1})", [](const Body& b) { b.flag("a"); }) == 422);
    BOOST_TEST(field(R"({"a": 1})", [](const Body& b) { b.object("a", {}); }) == 422);
    BOOST_TEST(field(R"({"a": {"x": 1}})", [](const Body& b) { b.object("a", {"y"}); }) == 422);
    BOOST_TEST(field(R"({"a": {"y": 1}})",
                     [](const Body& b) { BOOST_TEST(*b.object("a", {"y"})->id("y") == 1); }) == 0);
}

BOOST_AUTO_TEST_CASE(positive_integers) {
    BOOST_TEST(*positive_integer("1") == 1);
    BOOST_TEST(*positive_integer("9223372036854775807") == 9223372036854775807LL);
    for (const char* s :
         {"", "0", "-1", "+1", "1x", " 1", "9223372036854775808", "99999999999999999999", "1.0"})
        BOOST_TEST(!positive_integer(s).has_value(), s);
}
