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

BOOST_AUTO_TEST_CASE(query_values_are_percent_decoded) {
    BOOST_TEST(*percent_decode("Zo%C3%AB+King") == "Zoë King");
    BOOST_TEST(*percent_decode("%2b%2B") == "++");
    BOOST_TEST(*percent_decode("") == "");
    for (const char* s : {"%", "%4", "%4g", "%G1", "a%00b", "%%41"})
        BOOST_TEST(!percent_decode(s).has_value(), s);
    BOOST_TEST(percent_encode("Zoë K.-_~&=+/") == "Zo%C3%AB%20K.-_~%26%3D%2B%2F");
    for (const char* s : {"Zoë", "a b&c=d", "100%", "\x7f~"})
        BOOST_TEST(*percent_decode(percent_encode(s)) == s);
}

BOOST_AUTO_TEST_CASE(cursors_round_trip_and_refuse_what_they_did_not_give) {
    // Every length of the last base64 group, and text with any byte but U+001F.
    for (const std::vector<std::string>& fields : std::vector<std::vector<std::string>>{
             {"1"}, {"12"}, {"123"}, {"7", "2", "9001"}, {"3", "Zoë", "", "42"}}) {
        std::string c = make_cursor('S', fields);
        BOOST_TEST(c.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-_") == std::string::npos);
        PageQuery page(std::nullopt, c, 'S', fields.size());
        BOOST_TEST(page.after == fields);
        BOOST_TEST(page.limit == PageQuery::kDefault);
        BOOST_TEST(status_of([&] { PageQuery(std::nullopt, c, 'L', fields.size()); }) == 422);
        BOOST_TEST(status_of([&] { PageQuery(std::nullopt, c, 'S', fields.size() + 1); }) == 422);
    }
    // The longest position: two names of 200 four-byte characters.
    std::string name;
    for (int i = 0; i < 200; ++i) name += "\xF0\x9F\x8C\xB3";
    std::vector<std::string> longest{"2", name, name, "9223372036854775807"};
    BOOST_TEST(PageQuery(std::nullopt, make_cursor('S', longest), 'S', 4).after == longest);
    BOOST_TEST(PageQuery(std::string("1000"), std::nullopt, 'C', 1).limit == 1000);
    BOOST_TEST(PageQuery(std::string("1"), std::nullopt, 'C', 1).after.empty());
    for (const char* limit : {"0", "1001", "-1", "", "abc", "1.5"})
        BOOST_TEST(status_of([&] { PageQuery(std::string(limit), std::nullopt, 'C', 1); }) == 422,
                   limit);
    std::string good = make_cursor('C', {"5"});  // "Qx81": 3 bytes, no padding bits
    BOOST_TEST(good == "Qx81");
    for (std::string bad : {std::string(""), std::string("Q"), good + "=", good + "Q", good + "!",
                            std::string("Qx8\0", 4), std::string(2401, 'A'), make_cursor('C', {}),
                            std::string("Qw"), std::string("Qx")})
        BOOST_TEST(status_of([&] { PageQuery(std::nullopt, bad, 'C', 1); }) == 422, bad);
    // "Qx8": a kind and one empty field; as a number, refused.
    BOOST_TEST(status_of([&] { PageQuery(std::nullopt, "Qx8", 'C', 1).number(0); }) == 422);
    PageQuery page(std::nullopt, make_cursor('L', {"0", "x", "9223372036854775808", "3"}), 'L', 4);
    BOOST_TEST(page.number(0, 0) == 0);
    BOOST_TEST(page.number(3) == 3);
    BOOST_TEST(status_of([&] { page.number(0); }) == 422);
    BOOST_TEST(status_of([&] { page.number(1, 0); }) == 422);
    BOOST_TEST(status_of([&] { page.number(2); }) == 422);
}
