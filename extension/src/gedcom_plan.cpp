#include "gedcom_plan.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

#include "rules.hpp"

namespace family::gedcom {

const char* severity_name(Severity s) {
    return s == Severity::Skipped ? "error" : "warning";
}

bool Instant::operator<(const Instant& o) const {
    if (!day || !o.day) return !day && o.day;
    auto key = [](const Instant& i) {
        return std::tuple(i.day->year, i.day->month, i.day->day, i.micros);
    };
    return key(*this) < key(o);
}

std::optional<std::int64_t> time_of_day(std::string_view t) {
    if (!t.empty() && t.back() == 'Z') t.remove_suffix(1);
    auto number = [&](std::size_t at, std::size_t n, int most) -> std::optional<int> {
        if (at + n > t.size()) return std::nullopt;
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (t[i] < '0' || t[i] > '9') return std::nullopt;
            v = v * 10 + (t[i] - '0');
        }
        if (v > most) return std::nullopt;
        return v;
    };
    // The hour has one or two digits.
    std::size_t colon = t.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 2) return std::nullopt;
    std::optional<int> h = number(0, colon, 23), m = number(colon + 1, 2, 59);
    if (!h || !m) return std::nullopt;
    std::int64_t micros = (*h * 60 + *m) * 60 * std::int64_t{1000000};
    std::size_t at = colon + 3;
    if (at == t.size()) return micros;
    std::optional<int> s = t[at] == ':' ? number(at + 1, 2, 59) : std::nullopt;
    if (!s) return std::nullopt;
    micros += *s * std::int64_t{1000000};
    at += 3;
    if (at == t.size()) return micros;
    if (t[at] != '.' || at + 1 == t.size()) return std::nullopt;
    std::int64_t scale = 100000;
    for (std::size_t i = at + 1; i < t.size(); ++i, scale /= 10) {
        if (t[i] < '0' || t[i] > '9') return std::nullopt;
        micros += (t[i] - '0') * scale;  // digits past the microsecond add 0
    }
    return micros;
}

namespace {

std::string at(const std::string& xref) {
    return "@" + xref + "@";
}

// A child's link to a family, as CHIL and FAMC lines write it.
struct Link {
    int child, family;
    int line;              // the first line that writes it
    std::string pedigree;  // from FAMC
    Field father_rank, mother_rank;
};

struct FamilyRecord {
    Family record;
    int husband = -1, wife = -1;  // persons, once resolved
};

class Planner {
  public:
    Planner(std::string_view file, int default_rank) : reader_(file), default_rank_(default_rank) {
        plan_.header = reader_.header();
    }

    Plan run() {
        Record record;
        while (reader_.next(record)) {
            if (auto* p = std::get_if<Individual>(&record))
                add(std::move(*p));
            else
                add(std::move(std::get<Family>(record)));
        }
        for (const Note& n : reader_.take_notes()) warn(n.line, n.xref, n.message);
        resolve_partners();
        resolve_links();
        order();
        relationships();
        finish();
        return std::move(plan_);
    }

  private:
    struct Frame {
        int person, next;  // next: 0 the father, 1 the mother, 2 placed
    };

    void issue(Severity s, int line, const std::string& xref, std::string message) {
        plan_.issues.push_back({line, xref, s, std::move(message)});
    }
    void skip(int line, const std::string& xref, std::string message) {
        issue(Severity::Skipped, line, xref, std::move(message));
    }
    void skip_link(int line, const std::string& xref, std::string message) {
        ++plan_.skipped_links;
        skip(line, xref, std::move(message));
    }
    void warn(int line, const std::string& xref, std::string message) {
        issue(Severity::Warning, line, xref, std::move(message));
    }

    Text keep(std::string_view s) {
        Text t{static_cast<std::uint32_t>(plan_.pool.size()), static_cast<std::uint32_t>(s.size()),
               true};
        plan_.pool += s;
        return t;
    }

    // A name or a place: left out when it breaks the text rule.
    Text text_field(const std::string& value, int line, const std::string& xref, const char* what,
                    bool always) {
        if (std::optional<std::string> why = rules::text_error(value)) {
            warn(line, xref, std::string(what) + " " + quoted(value) + " " + *why + ": left out");
            return always ? keep("") : Text{};
        }
        if (value.empty() && !always) return Text{};
        return keep(value);
    }

    Text date_field(const Field& f, const std::string& xref, const char* what) {
        if (!f) return Text{};
        if (std::optional<std::string> why = date_error(f.value)) {
            warn(f.line, xref, std::string(what) + " " + quoted(f.value) + " is not a GEDCOM date (" +
                                   *why + "): left out");
            return Text{};
        }
        return keep(f.value);
    }

    void add(Individual p) {
        ++plan_.individuals;
        if (!p.xref.empty()) {
            auto [it, fresh] = person_of_.emplace(p.xref, static_cast<int>(persons_.size()));
            if (!fresh) {
                ++plan_.skipped_individuals;
                skip(p.line, p.xref,
                     "a second INDI " + at(p.xref) + " (the first is at line " +
                         std::to_string(lines_[it->second]) + "): not imported");
                return;
            }
        }
        NewPerson n;
        n.xref = p.xref.empty() ? Text{} : keep(p.xref);
        n.first_name = text_field(p.given, p.name_line, p.xref, "the given name", true);
        n.last_name = text_field(p.surname, p.name_line, p.xref, "the surname", true);
        if (p.sex && p.sex.value != "U" && !p.sex.value.empty()) {
            if (p.sex.value == "M" || p.sex.value == "F" || p.sex.value == "X")
                n.sex = keep(p.sex.value);
            else
                warn(p.sex.line, p.xref, "SEX " + quoted(p.sex.value) + " is not M, F, X or U: left out");
        }
        n.birth_date = date_field(p.birth.date, p.xref, "the birth date");
        n.death_date = date_field(p.death.date, p.xref, "the death date");
        if (p.birth.place)
            n.birth_place = text_field(p.birth.place.value, p.birth.place.line, p.xref, "the birth place", false);
        if (p.death.place)
            n.death_place = text_field(p.death.place.value, p.death.place.line, p.xref, "the death place", false);
        if (n.death_date.present) death_[static_cast<int>(persons_.size())] = first_day(p.death.date.value);
        int index = static_cast<int>(persons_.size());
        for (ChildOf& c : p.child_of) famc_.push_back({index, std::move(c)});
        persons_.push_back(n);
        lines_.push_back(p.line);
        xrefs_.push_back(p.xref);
    }

    void add(Family f) {
        if (!f.xref.empty() && family_of_.count(f.xref)) {
            skip(f.line, f.xref,
                 "a second FAM " + at(f.xref) + " (the first is at line " +
                     std::to_string(families_[family_of_[f.xref]].record.line) + "): not imported");
            // Its children's links are links of the file too.
            for (const Pointer& c : f.children) {
                ++plan_.links;
                skip_link(c.line, f.xref, "the link of " + at(c.xref) + " to a second FAM " + at(f.xref) + ": not imported");
            }
            return;
        }
        int index = static_cast<int>(families_.size());
        if (!f.xref.empty()) family_of_[f.xref] = index;
        for (const Pointer& c : f.children) chil_.push_back({index, c});
        families_.push_back({std::move(f), -1, -1});
    }

    int person(const std::string& xref) const {
        auto it = person_of_.find(xref);
        return it == person_of_.end() ? -1 : it->second;
    }

    // HUSB and WIFE to persons: the father and mother of the family's children.
    void resolve_partners() {
        for (FamilyRecord& f : families_) {
            for (auto [pointer, role, tag] : {std::tuple{&f.record.husband, &f.husband, "HUSB"},
                                              std::tuple{&f.record.wife, &f.wife, "WIFE"}}) {
                if (pointer->xref.empty()) continue;
                *role = person(pointer->xref);
                if (*role < 0)
                    warn(pointer->line, f.record.xref,
                         std::string(tag) + " " + at(pointer->xref) + " is no INDI of the file: the family is read without it");
            }
            if (f.husband >= 0 && f.husband == f.wife) {
                warn(f.record.wife.line, f.record.xref,
                     "HUSB and WIFE are the same person " + at(f.record.wife.xref) + ": read as HUSB alone");
                f.wife = -1;
            }
        }
    }

    // Every child-family pair once; each child keeps its birth family.
    void resolve_links() {
        std::map<std::pair<int, int>, std::size_t> seen;
        auto link = [&](int child, int family, int line) -> Link* {
            auto [it, fresh] = seen.emplace(std::pair(child, family), links_.size());
            if (!fresh) return nullptr;
            links_.push_back({child, family, line, "", {}, {}});
            return &links_.back();
        };
        for (auto& [child, c] : famc_) {
            auto family = family_of_.find(c.family);
            if (family == family_of_.end()) {
                ++plan_.links;
                skip_link(c.line, xrefs_[child], "FAMC " + at(c.family) + " is no FAM of the file: the link is not imported");
                continue;
            }
            if (Link* l = link(child, family->second, c.line)) {
                l->pedigree = c.pedigree;
                l->father_rank = c.father_rank;
                l->mother_rank = c.mother_rank;
            }
        }
        for (auto& [family, c] : chil_) {
            int child = person(c.xref);
            if (child < 0) {
                ++plan_.links;
                skip_link(c.line, families_[family].record.xref,
                     "CHIL " + at(c.xref) + " is no INDI of the file: the link is not imported");
                continue;
            }
            link(child, family, c.line);
        }
        plan_.links += static_cast<int>(links_.size());

        // A child's links in the order written; the birth one (PEDI BIRTH
        // or none) first, else the first one.
        std::vector<std::vector<std::size_t>> of_child(persons_.size());
        for (std::size_t i = 0; i < links_.size(); ++i) of_child[links_[i].child].push_back(i);
        chosen_.assign(persons_.size(), -1);
        for (std::size_t child = 0; child < persons_.size(); ++child) {
            auto& mine = of_child[child];
            std::stable_sort(mine.begin(), mine.end(),
                             [&](std::size_t a, std::size_t b) { return links_[a].line < links_[b].line; });
            auto birth = std::find_if(mine.begin(), mine.end(), [&](std::size_t i) {
                return links_[i].pedigree.empty() || links_[i].pedigree == "BIRTH";
            });
            std::size_t pick = birth == mine.end() ? (mine.empty() ? links_.size() : mine.front()) : *birth;
            for (std::size_t i : mine) {
                if (i == pick) continue;
                const Link& l = links_[i];
                skip_link(l.line, xrefs_[child],
                     "a second family of " + at(xrefs_[child]) + ", " + at(families_[l.family].record.xref) +
                         (l.pedigree.empty() ? "" : " (" + l.pedigree + ")") +
                         ": a person has one father and one mother here, from " +
                         at(families_[links_[pick].family].record.xref) + "; not imported");
            }
            if (pick < links_.size() && use(links_[pick])) chosen_[child] = static_cast<int>(pick);
        }
    }

    // Whether the chosen link can be imported: sets the child's parents.
    bool use(const Link& l) {
        const FamilyRecord& f = families_[l.family];
        NewPerson& child = persons_[l.child];
        const std::string& xref = xrefs_[l.child];
        std::string family = at(f.record.xref);
        if (f.husband < 0 && f.wife < 0) {
            skip_link(l.line, xref, family + " has no HUSB or WIFE of the file: " + at(xref) + " gets no parents from it");
            return false;
        }
        if (f.husband == l.child || f.wife == l.child) {
            skip_link(l.line, xref, at(xref) + " would be their own parent in " + family + ": the link is not imported");
            return false;
        }
        auto rank = [&](const Field& given, const char* tag, int& out) {
            if (!given) {
                out = default_rank_;
                return true;
            }
            const std::string& v = given.value;
            bool digit = v.size() == 1 && v[0] >= '0' && v[0] <= '9';
            if (!digit || !rules::rank_in_range(v[0] - '0')) {
                skip_link(given.line, xref, std::string(tag) + " " + quoted(v) + " is not a rank from " +
                                           std::to_string(rules::kLowestRank) + " to " +
                                           std::to_string(rules::kHighestRank) + ": the link to " +
                                           family + " is not imported");
                return false;
            }
            out = v[0] - '0';
            return true;
        };
        int father_rank = 0, mother_rank = 0;
        if ((f.husband >= 0 && !rank(l.father_rank, kFatherRankTag, father_rank)) ||
            (f.wife >= 0 && !rank(l.mother_rank, kMotherRankTag, mother_rank)))
            return false;
        child.father = f.husband;
        child.mother = f.wife;
        child.father_rank = f.husband >= 0 ? father_rank : 0;
        child.mother_rank = f.wife >= 0 ? mother_rank : 0;
        return true;
    }

    // Depth-first from each person up to their parents, in file order: a
    // link to a parent still on the path would close a loop and is skipped
    // (what is left has no loop); a person is placed after their parents.
    void order() {
        enum : char { kNew, kOnPath, kDone };
        std::vector<char> state(persons_.size(), kNew);
        order_.reserve(persons_.size());
        std::vector<Frame> path;
        for (int start = 0; start < static_cast<int>(persons_.size()); ++start) {
            if (state[start] != kNew) continue;
            path.push_back({start, 0});
            state[start] = kOnPath;
            while (!path.empty()) {
                Frame& top = path.back();
                NewPerson& p = persons_[top.person];
                if (top.next == 2) {
                    state[top.person] = kDone;
                    p.layer = 0;
                    for (int parent : {p.father, p.mother})
                        if (parent >= 0) p.layer = std::max(p.layer, persons_[parent].layer + 1);
                    order_.push_back(top.person);
                    path.pop_back();
                    continue;
                }
                int parent = top.next++ == 0 ? p.father : p.mother;
                if (parent < 0 || state[parent] == kDone) continue;
                if (state[parent] == kOnPath) {
                    loop(top.person, parent, path);
                    top.next = 0;  // the parents are gone: look again
                    continue;
                }
                state[parent] = kOnPath;
                path.push_back({parent, 0});
            }
        }
        for (int link : chosen_)
            if (link >= 0) ++plan_.parent_links;
    }

    // `child`'s link to `parent` closes a loop (parent is on the path below
    // child): the link goes.
    void loop(int child, int parent, const std::vector<Frame>& path) {
        std::string through;
        for (auto it = path.rbegin(); it != path.rend() && it->person != parent; ++it)
            if (it->person != child) through = " " + at(xrefs_[it->person]) + through;
        const Link& l = links_[chosen_[child]];
        skip_link(l.line, xrefs_[child],
             "a loop: " + at(xrefs_[child]) + " would be their own ancestor (through " +
                 at(xrefs_[parent]) + (through.empty() ? "" : "," + through) + "): the link to " +
                 at(families_[l.family].record.xref) + " is not imported");
        NewPerson& p = persons_[child];
        p.father = p.mother = -1;
        p.father_rank = p.mother_rank = 0;
        chosen_[child] = -1;
    }

    Instant instant(const Event& e, const std::string& xref, const char* what) {
        Instant i;
        if (!e.date) return i;
        i.day = first_day(e.date.value);
        if (!i.day && date_error(e.date.value))
            warn(e.date.line, xref, std::string(what) + " date " + quoted(e.date.value) +
                                        " is not a GEDCOM date: taken as unknown");
        if (i.day && e.time) {
            if (std::optional<std::int64_t> t = time_of_day(e.time.value))
                i.micros = *t;
            else
                warn(e.time.line, xref, "TIME " + quoted(e.time.value) + " is not a time of day: left out");
        }
        return i;
    }

    // A relationship per family with two partners. It ends at its divorce,
    // else when either partner's next relationship starts or either dies,
    // whichever comes first; else it is current.
    void relationships() {
        struct Pending {
            NewRelationship r;
            const FamilyRecord* f;
            bool divorced;
            std::optional<Instant> divorce;  // with a known day
        };
        std::vector<Pending> all;
        for (const FamilyRecord& f : families_) {
            if (f.husband < 0 || f.wife < 0) continue;
            Pending p{{}, &f, f.record.divorced, std::nullopt};
            p.r.a = f.husband;
            p.r.b = f.wife;
            p.r.started = instant(f.record.marriage, f.record.xref, "MARR");
            if (f.record.divorced) {
                Instant d = instant(f.record.divorce, f.record.xref, "DIV");
                if (d.day) p.divorce = d;
            }
            all.push_back(p);
        }
        // Each person's relationships by start, then as written.
        std::unordered_map<int, std::vector<std::size_t>> of_person;
        for (std::size_t i = 0; i < all.size(); ++i)
            for (int partner : {all[i].r.a, all[i].r.b}) of_person[partner].push_back(i);
        for (auto& [person, list] : of_person)
            std::stable_sort(list.begin(), list.end(), [&](std::size_t x, std::size_t y) {
                return all[x].r.started < all[y].r.started;
            });
        for (std::size_t i = 0; i < all.size(); ++i) {
            Pending& p = all[i];
            std::optional<Instant> end = p.divorce;
            if (!end) {
                for (int partner : {p.r.a, p.r.b}) {
                    const auto& list = of_person[partner];
                    auto me = std::find(list.begin(), list.end(), i);
                    if (me + 1 != list.end()) {
                        const Instant& next = all[*(me + 1)].r.started;
                        if (!end || next < *end) end = next;
                    }
                    auto died = death_.find(partner);
                    if (died != death_.end() && died->second) {
                        Instant death{died->second, 0};
                        if (!end || death < *end) end = death;
                    }
                }
            }
            if (!end && p.divorced) end = p.r.started;  // divorced, when unknown
            if (end && *end < p.r.started) {
                warn(p.f->record.line, p.f->record.xref,
                     "the relationship of " + at(xrefs_[p.r.a]) + " and " + at(xrefs_[p.r.b]) +
                         " would end before it starts: it ends when it starts");
                end = p.r.started;
            }
            p.r.ended = end;
            plan_.relationships.push_back(p.r);
        }
    }

    // Persons by layer (stable), every index renumbered; relationships by
    // the larger layer of their partners.
    void finish() {
        std::stable_sort(order_.begin(), order_.end(),
                         [&](int a, int b) { return persons_[a].layer < persons_[b].layer; });
        std::vector<int> renumber(persons_.size());
        for (std::size_t i = 0; i < order_.size(); ++i) renumber[order_[i]] = static_cast<int>(i);
        plan_.persons.reserve(order_.size());
        for (int old : order_) {
            NewPerson p = persons_[old];
            if (p.father >= 0) p.father = renumber[p.father];
            if (p.mother >= 0) p.mother = renumber[p.mother];
            plan_.persons.push_back(p);
        }
        for (NewRelationship& r : plan_.relationships) {
            r.layer = std::max(persons_[r.a].layer, persons_[r.b].layer);
            r.a = renumber[r.a];
            r.b = renumber[r.b];
        }
        std::stable_sort(plan_.relationships.begin(), plan_.relationships.end(),
                         [](const NewRelationship& x, const NewRelationship& y) { return x.layer < y.layer; });
        std::stable_sort(plan_.issues.begin(), plan_.issues.end(),
                         [](const Issue& x, const Issue& y) { return x.line < y.line; });
    }

    Reader reader_;
    int default_rank_;
    Plan plan_;
    std::vector<NewPerson> persons_;  // as in the file
    std::vector<int> lines_;
    std::vector<std::string> xrefs_;
    std::unordered_map<std::string, int> person_of_, family_of_;
    std::unordered_map<int, std::optional<Day>> death_;
    std::vector<FamilyRecord> families_;
    std::vector<std::pair<int, ChildOf>> famc_;   // child, its FAMC
    std::vector<std::pair<int, Pointer>> chil_;   // family, its CHIL
    std::vector<Link> links_;
    std::vector<int> chosen_;  // per person: its link, or -1
    std::vector<int> order_;   // persons, parents first
};

}  // namespace

Plan plan_import(std::string_view file, int default_rank) {
    return Planner(file, default_rank).run();
}

}  // namespace family::gedcom
