// The consistency check's pure parts: the local check of one person, the
// report, the mail as composed and sent, and stack traces.
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <stdexcept>

#include "check.hpp"
#include "mail.hpp"
#include "trace.hpp"

using namespace family;
using namespace family::check;

namespace {

// Ann and Bob have no parents; their child with ranks 4 and 2, as stored by
// the triggers.
StoredPerson consistent_child() {
    StoredPerson p;
    p.id = 3;
    p.father = 2;
    p.mother = 1;
    p.father_rank = 4;
    p.mother_rank = 2;
    static const StoredParent founder;  // generation 0, no links
    p.father_row = p.mother_row = &founder;
    p.generation = 1;
    p.ranks = {{6}, {2}};
    p.rank = 3;
    return p;
}

std::set<std::string> kinds(const StoredPerson& p) {
    std::vector<Finding> out;
    check_person(p, out);
    std::set<std::string> k;
    for (const Finding& f : out) {
        BOOST_TEST(f.person == p.id);
        k.insert(f.kind);
    }
    return k;
}

}  // namespace

BOOST_AUTO_TEST_CASE(consistent_persons_have_no_findings) {
    BOOST_TEST(kinds(consistent_child()).empty());
    StoredPerson founder;
    founder.id = 1;
    BOOST_TEST(kinds(founder).empty());
}

BOOST_AUTO_TEST_CASE(each_corruption_has_its_kind) {
    StoredPerson p = consistent_child();
    p.generation = 5;
    BOOST_TEST((kinds(p) == std::set<std::string>{"generation"}));

    p = consistent_child();
    p.rank = 2.5;
    std::vector<Finding> out;
    check_person(p, out);
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].kind == "ancestor_rank");
    BOOST_TEST(out[0].expected == "3");
    BOOST_TEST(out[0].actual == "2.5");

    p = consistent_child();
    p.ranks.counts = {3};
    out.clear();
    check_person(p, out);
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].kind == "link_vectors");
    BOOST_TEST(out[0].expected == "{6}/{2}");
    BOOST_TEST(out[0].actual == "{6}/{3}");

    p = consistent_child();
    p.couple = false;
    BOOST_TEST((kinds(p) == std::set<std::string>{"couple"}));

    // A missing mother: the values expected are those of the father alone.
    p = consistent_child();
    p.mother_row = nullptr;
    BOOST_TEST(
        (kinds(p) == std::set<std::string>{"missing_mother", "link_vectors", "ancestor_rank"}));
    // Both missing: two findings of two kinds (a run stores each kind once).
    p.father_row = nullptr;
    BOOST_TEST((kinds(p) == std::set<std::string>{"missing_father", "missing_mother", "generation",
                                                  "link_vectors", "ancestor_rank"}));

    // A rank without its parent, and a parent without its rank.
    p = consistent_child();
    p.father.reset();
    p.mother_rank.reset();
    out.clear();
    check_person(p, out);
    std::set<std::string> actual;
    for (const Finding& f : out)
        if (f.kind.find("_rank_pairing") != std::string::npos) actual.insert(f.actual);
    BOOST_TEST((actual == std::set<std::string>{"father_id null, father_rank 4",
                                                "mother_id 1, mother_rank null"}));

    // No parent left: null rank expected.
    p = consistent_child();
    p.father.reset();
    p.father_rank.reset();
    p.mother.reset();
    p.mother_rank.reset();
    out.clear();
    check_person(p, out);
    BOOST_TEST(out.back().kind == "ancestor_rank");
    BOOST_TEST(out.back().expected == "null");
}

BOOST_AUTO_TEST_CASE(relationships_name_persons_that_exist_one_current_each) {
    // 1: 10-11 current; 2: 10-12 current (10 has two); 3: 11-99 ended, and
    // 99 does not exist; 4: 13-98 current, neither 98 nor 13 exists.
    std::vector<StoredRelationship> slice = {
        {1, 10, 11, true}, {2, 10, 12, true}, {3, 11, 99, false}, {4, 13, 98, true}};
    std::set<PersonId> existing = {10, 11, 12};
    std::map<PersonId, std::vector<std::int64_t>> current = {
        {10, {1, 2}}, {11, {1}}, {12, {2}}, {13, {4}}, {98, {4}}};
    std::vector<Finding> out;
    check_relationships(slice, existing, current, out);
    BOOST_TEST(out.size() == 4u);
    BOOST_TEST(out.at(0).person == 10);
    BOOST_TEST(out.at(0).kind == "current_relationships");
    BOOST_TEST(out.at(0).expected == "at most one current relationship");
    BOOST_TEST(out.at(0).actual == "current relationships 1, 2");
    BOOST_TEST(*out.at(0).relationship == 1);  // the smallest of them reports it
    BOOST_TEST(out.at(1).person == 99);
    BOOST_TEST(out.at(1).kind == "relationship_person");
    BOOST_TEST(out.at(1).expected == "person 99 of relationship 3 exists");
    BOOST_TEST(out.at(1).actual == "no such person");
    BOOST_TEST(*out.at(1).relationship == 3);
    BOOST_TEST(out.at(2).person == 13);
    BOOST_TEST(out.at(3).person == 98);
    // The slice that holds only relationship 2 does not report person 10
    // again.
    out.clear();
    check_relationships({slice[1]}, existing, current, out);
    BOOST_TEST(out.empty());
}

BOOST_AUTO_TEST_CASE(report_lists_workers_findings_and_errors) {
    RunReport r;
    r.run_id = 7;
    r.database = "family";
    r.status = "failed";
    r.started_at = "2026-11-23 10:00:00+00";
    r.finished_at = "2026-11-23 10:00:01.5+00";
    r.seconds = 1.5;
    r.workers_requested = 2;
    r.persons = 1000;
    r.relationships = 321;
    r.findings_total = 150;
    r.note = "only 1 of 2 check workers could start";
    r.workers.push_back({0, 4242, 0.01, 1.4, 1000, 3, 150, "failed"});
    for (int i = 0; i < 100; ++i) r.findings.push_back({i, "generation", "1", "2"});
    r.errors.push_back({"worker 0 (pid 4242)", "57014", "canceling statement", "",
                        "line one\nline two", "PostgreSQL ERROR (ereport)", "#0 a\n#1 b"});
    BOOST_TEST(report_subject(r) ==
               "[family] consistency check run 7 on family: failed, 150 findings, 1 errors");
    std::string body = report_body(r);
    for (const char* part : {"run 7 on database family: failed", "(1.500 s)", "1 of 2 requested",
                             "note: only 1 of 2", "4242", "relationships     321 checked", "the first 100 of 150", "person 99",
                             "SELECT family.repair()", "SQLSTATE   57014", "context    line one\n",
                             "               line two", "stack      #0 a\n               #1 b"})
        BOOST_TEST(body.find(part) != std::string::npos, part);
    BOOST_TEST(body.find("detail") == std::string::npos);  // empty fields are left out

    RunReport clean;
    clean.run_id = 8;
    clean.status = "clean";
    BOOST_TEST(report_subject(clean) == "[family] consistency check run 8 on : clean");
    BOOST_TEST(report_body(clean).find("Findings") == std::string::npos);
    clean.findings_total = 1;
    clean.findings.push_back({5, "cycle", "a", "b"});
    BOOST_TEST(report_body(clean).find("Findings (1;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mail_is_composed_with_crlf) {
    mail::Settings s{"smtp://127.0.0.1:1", "family@localhost", "a@x, b@y"};
    std::string m = mail::compose(s, "subject", "line 1\nline 2\n", "Mon, 23 Nov 2026", "<id>");
    BOOST_TEST(m.find("To: a@x, b@y\r\n") != std::string::npos);
    BOOST_TEST(m.find("Subject: subject\r\n") != std::string::npos);
    BOOST_TEST(m.find("\r\n\r\nline 1\r\nline 2\r\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mail_failures_are_returned) {
    // Port 1 on loopback: nothing listens there.
    mail::Settings s{"smtp://127.0.0.1:1", "Family <family@localhost>", "a@x"};
    std::optional<std::string> error = mail::send(s, "s", "b");
    BOOST_REQUIRE(error);
    BOOST_TEST(error->find("smtp://127.0.0.1:1") != std::string::npos, *error);
    s.to = " , ";
    BOOST_TEST(*mail::send(s, "s", "b") == "family.mail_to names no recipient");
}

BOOST_AUTO_TEST_CASE(mail_gives_up_once_asked_to_stop) {
    // A server that accepts (the kernel completes the connection in the
    // backlog) and never says a word: libcurl would wait 60 s.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(listen(fd, 4) == 0);
    BOOST_REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    mail::Settings s{"smtp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), "f@x", "a@x"};
    volatile std::sig_atomic_t stop = 1;
    auto start = std::chrono::steady_clock::now();
    std::optional<std::string> error =
        mail::send(s, "s", "b", {&stop, std::chrono::milliseconds(200)});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    close(fd);
    BOOST_REQUIRE(error);
    BOOST_TEST(error->rfind("given up 200 ms after the process was asked to stop", 0) == 0, *error);
    // libcurl looks at least once a second.
    BOOST_TEST(seconds < 3.0);
}

// Not static: the stack names it.
namespace trace_test {
[[gnu::noinline]] void throw_here() {
    throw std::logic_error("here");
}
}  // namespace trace_test

BOOST_AUTO_TEST_CASE(stacks_of_throws_and_captures) {
    try {
        trace_test::throw_here();
    } catch (const std::exception& e) {
        const trace::Stack* at = trace::thrown(&e);
        BOOST_REQUIRE(at);
        std::string text = trace::symbolize(*at);
        BOOST_TEST(text.find("#0 __wrap___cxa_throw") == 0u, text);
        BOOST_TEST(text.find("#1 ") < text.find("throw_here"), text);
    }
    std::logic_error other("not thrown");
    BOOST_TEST(!trace::thrown(&other));
    trace::Stack here = trace::capture();
    BOOST_TEST(here.depth > 1);
    BOOST_TEST(trace::symbolize(here, here.depth).empty());

    BOOST_TEST(trace::readable("/usr/lib/x.so(_ZN6family5checkEv+0x1f) [0x7f]") ==
               "family::check()  (x.so)");
    BOOST_TEST(trace::readable("x(+0x3c050) [0x7f]") ==
               "x(+0x3c050)  (no symbol: a static function)");
    BOOST_TEST(trace::readable("plain(not_mangled) [0x1]") == "not_mangled  (plain)");
    BOOST_TEST(trace::readable("[0x1]") == "[0x1]");
}
