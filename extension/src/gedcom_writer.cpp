#include "gedcom_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <tuple>

#include "gedcom_reader.hpp"

namespace family::gedcom {

namespace {

constexpr const char* kMonths[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

// The texts of a person, in pool order.
enum TextAt { kFirst, kLast, kSex, kBirthDate, kBirthPlace, kDeathDate, kDeathPlace, kTexts };

bool before(const Moment& x, const Moment& y) {
    auto rank = [](const Moment& m) {
        return m.kind == Moment::Kind::MinusInfinity ? 0 : m.kind == Moment::Kind::Finite ? 1 : 2;
    };
    return std::tuple(rank(x), x.day.year, x.day.month, x.day.day, x.micros) <
           std::tuple(rank(y), y.day.year, y.day.month, y.day.day, y.micros);
}

// The file, a piece of about kPiece bytes (whole records) at a time.
class Out {
  public:
    static constexpr std::size_t kPiece = 1 << 20;
    explicit Out(const std::function<void(std::string_view)>& sink) : sink_(sink) {
        s_.reserve(kPiece + 64 * 1024);
    }
    Out& operator<<(std::string_view v) {
        s_.append(v);
        return *this;
    }
    Out& operator<<(std::int64_t n) {
        char buf[24];
        s_.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
        return *this;
    }
    // A line's payload: GEDCOM 7 doubles a leading @ (else it reads as a
    // pointer). A control character (which only a row written before the
    // names' rules of 0.4.0 can hold) becomes a space: a line break would
    // start a line of its own.
    Out& payload(std::string_view v) {
        if (!v.empty() && v[0] == '@') s_ += '@';
        return text(v);
    }
    Out& text(std::string_view v) {
        for (char c : v) s_ += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? ' ' : c;
        return *this;
    }
    Out& person(std::int64_t id) { return *this << "@I" << id << "@"; }
    Out& family(std::size_t f) { return *this << "@F" << static_cast<std::int64_t>(f + 1) << "@"; }
    // After a record: hands the piece on once it is large enough (`last`: now).
    void record_done(bool last = false) {
        if (s_.size() < kPiece && !last) return;
        sink_(s_);
        s_.clear();
    }

  private:
    const std::function<void(std::string_view)>& sink_;
    std::string s_;
};

}  // namespace

std::string day_text(const Day& d) {
    if (d.year < -4711 || d.year > 9999) return "";
    std::string out = std::to_string(d.day) + " " + kMonths[d.month - 1] + " ";
    if (d.year >= 1) return out + std::to_string(d.year);
    return out + std::to_string(1 - d.year) + " BCE";  // year 0 is 1 B.C.
}

std::string time_text(std::int64_t micros) {
    char buf[32];
    std::int64_t s = micros / 1000000, fraction = micros % 1000000;
    int n = snprintf(buf, sizeof buf, "%02d:%02d:%02d", static_cast<int>(s / 3600),
                     static_cast<int>(s / 60 % 60), static_cast<int>(s % 60));
    std::string out(buf, static_cast<std::size_t>(n));
    if (fraction) {
        snprintf(buf, sizeof buf, ".%06d", static_cast<int>(fraction));
        std::string f(buf);
        while (f.back() == '0') f.pop_back();
        out += f;
    }
    return out + "Z";
}

void Writer::person(const PersonRow& p) {
    Stored s{p.id, p.father, p.mother, pool_.size(), static_cast<std::uint8_t>(p.father_rank),
             static_cast<std::uint8_t>(p.mother_rank), 0, p.withhold};
    const std::optional<std::string_view> texts[kTexts] = {
        p.first_name, p.last_name, p.sex, p.birth_date, p.birth_place, p.death_date, p.death_place};
    for (int i = 0; i < kTexts; ++i) {
        std::string_view t = texts[i].value_or("");
        if (texts[i]) s.present |= static_cast<std::uint8_t>(1u << i);
        std::uint32_t length = static_cast<std::uint32_t>(t.size());  // a text is under 1 GB
        pool_.append(reinterpret_cast<const char*>(&length), sizeof length);
        pool_.append(t);
    }
    persons_.push_back(s);
}

void Writer::relationship(const RelationshipRow& r) {
    couples_.push_back({r.a, r.b, r.started, r.ended, couples_.size()});
}

std::string Writer::write(std::string_view version, void (*tick)()) {
    std::string file;
    write(version, [&](std::string_view piece) { file.append(piece); }, tick);
    return file;
}

void Writer::write(std::string_view version, const std::function<void(std::string_view)>& sink,
                   void (*tick)()) {
    auto by_id = [](const Stored& x, const Stored& y) { return x.id < y.id; };
    if (!std::is_sorted(persons_.begin(), persons_.end(), by_id))
        std::sort(persons_.begin(), persons_.end(), by_id);
    const int n = static_cast<int>(persons_.size());
    auto index = [&](std::int64_t id) {
        auto it = std::lower_bound(persons_.begin(), persons_.end(), id,
                                   [](const Stored& s, std::int64_t v) { return s.id < v; });
        return it != persons_.end() && it->id == id ? static_cast<int>(it - persons_.begin()) : -1;
    };
    auto texts = [&](int i) {
        std::array<std::optional<std::string_view>, kTexts> out;
        std::size_t at = persons_[i].text;
        for (int k = 0; k < kTexts; ++k) {
            std::uint32_t length;
            pool_.copy(reinterpret_cast<char*>(&length), sizeof length, at);
            at += sizeof length;
            if (persons_[i].present & (1u << k)) out[k] = std::string_view(pool_).substr(at, length);
            at += length;
        }
        return out;
    };
    auto sex = [&](int i) { return texts(i)[kSex].value_or(""); };

    // Parents among the persons written.
    std::vector<int> father(n), mother(n);
    for (int i = 0; i < n; ++i) {
        father[i] = persons_[i].father ? index(persons_[i].father) : -1;
        mother[i] = persons_[i].mother ? index(persons_[i].mother) : -1;
    }

    struct Fam {
        int husband = -1, wife = -1;
        int couple = -1;  // its relationship (couples_), -1: none
        bool parents_only = false;
    };
    std::vector<Fam> fams;
    std::vector<int> famc(n, -1);

    // Each couple's relationships, by start; its children both ways round.
    struct Item {
        int lo, hi, kind;  // kind 0: a relationship; 1: a child of father lo; 2: of father hi
        int ref;           // the couple, or the child
    };
    std::vector<Item> items;
    for (std::size_t c = 0; c < couples_.size(); ++c) {
        int a = index(couples_[c].a), b = index(couples_[c].b);
        if (a >= 0 && b >= 0) items.push_back({std::min(a, b), std::max(a, b), 0, static_cast<int>(c)});
    }
    for (int i = 0; i < n; ++i)
        if (father[i] >= 0 && mother[i] >= 0)
            items.push_back({std::min(father[i], mother[i]), std::max(father[i], mother[i]),
                             father[i] < mother[i] ? 1 : 2, i});
    std::sort(items.begin(), items.end(), [&](const Item& x, const Item& y) {
        if (std::tie(x.lo, x.hi, x.kind) != std::tie(y.lo, y.hi, y.kind))
            return std::tie(x.lo, x.hi, x.kind) < std::tie(y.lo, y.hi, y.kind);
        if (x.kind != 0) return x.ref < y.ref;
        const Couple &p = couples_[x.ref], &q = couples_[y.ref];
        if (before(p.started, q.started) != before(q.started, p.started)) return before(p.started, q.started);
        return p.order < q.order;
    });
    for (std::size_t at = 0; at < items.size();) {
        std::size_t end = at;
        while (end < items.size() && items[end].lo == items[at].lo && items[end].hi == items[at].hi) ++end;
        int lo = items[at].lo, hi = items[at].hi;
        std::size_t next_free = fams.size();
        for (std::size_t k = at; k < end && items[k].kind == 0; ++k) {
            // Until children say otherwise: the man as HUSB when the woman is
            // WIFE, unless that would tell a withheld sex.
            bool swap = sex(lo) == "F" && sex(hi) == "M" && !persons_[lo].withhold &&
                        !persons_[hi].withhold;
            fams.push_back({swap ? hi : lo, swap ? lo : hi, items[k].ref, false});
        }
        const std::size_t relationships_end = fams.size();
        // The children of father `f` and mother `m`: into the couple's next
        // relationship not yet turned for other children, else a FAM of
        // their own.
        int fam = -1;
        for (std::size_t k = at; k < end; ++k) {
            if (items[k].kind == 0) continue;
            if (k == at || items[k - 1].kind != items[k].kind) {
                int f = items[k].kind == 1 ? lo : hi, m = items[k].kind == 1 ? hi : lo;
                if (next_free < relationships_end) {
                    fam = static_cast<int>(next_free++);
                    fams[fam].husband = f;
                    fams[fam].wife = m;
                } else {
                    fam = static_cast<int>(fams.size());
                    fams.push_back({f, m, -1, true});
                }
            }
            famc[items[k].ref] = fam;
        }
        at = end;
    }
    decltype(items)().swap(items);

    // Single parents: a FAM each, with HUSB for a father, WIFE for a mother.
    std::vector<std::pair<int, int>> single;  // (parent * 2 + is_mother, child)
    for (int i = 0; i < n; ++i)
        if ((father[i] >= 0) != (mother[i] >= 0))
            single.push_back({father[i] >= 0 ? 2 * father[i] : 2 * mother[i] + 1, i});
    std::sort(single.begin(), single.end());
    for (std::size_t k = 0; k < single.size(); ++k) {
        if (k == 0 || single[k - 1].first != single[k].first) {
            int parent = single[k].first / 2;
            bool is_mother = single[k].first % 2;
            fams.push_back({is_mother ? -1 : parent, is_mother ? parent : -1, -1, false});
        }
        famc[single[k].second] = static_cast<int>(fams.size() - 1);
    }
    decltype(single)().swap(single);

    // Each FAM's children and each person's FAMS, in order (counting sorts).
    auto group = [&](auto&& key_of, std::size_t keys, std::size_t items_n) {
        std::vector<int> start(keys + 1, 0), out;
        for (std::size_t i = 0; i < items_n; ++i)
            for (int k : key_of(i))
                if (k >= 0) ++start[k + 1];
        for (std::size_t k = 0; k < keys; ++k) start[k + 1] += start[k];
        out.resize(start[keys]);
        std::vector<int> fill(start.begin(), start.end() - 1);
        for (std::size_t i = 0; i < items_n; ++i)
            for (int k : key_of(i))
                if (k >= 0) out[fill[k]++] = static_cast<int>(i);
        return std::pair{std::move(start), std::move(out)};
    };
    auto [child_start, children] =
        group([&](std::size_t i) { return std::array<int, 1>{famc[i]}; }, fams.size(), n);
    auto [fams_start, spouse_of] = group(
        [&](std::size_t f) { return std::array<int, 2>{fams[f].husband, fams[f].wife}; }, n, fams.size());

    Out out(sink);
    out << "0 HEAD\n1 GEDC\n2 VERS 7.0\n1 SCHMA\n";
    for (const char* tag : {kCurrentTag, kFatherRankTag, kMotherRankTag, kParentsOnlyTag})
        out << "2 TAG " << tag << " https://family.example/gedcom/" << tag << "\n";
    out << "1 SOUR family\n2 VERS ";
    out.payload(version) << "\n2 NAME family\n";

    auto event = [&](const char* tag, std::optional<std::string_view> date,
                     std::optional<std::string_view> place) {
        if (!date && !place) return;
        out << "1 " << tag << "\n";
        if (date) {
            Date7 d = to_gedcom7(*date);
            out << "2 DATE";
            if (!d.date.empty()) out << " " << d.date;
            out << "\n";
            if (!d.phrase.empty()) {
                out << "3 PHRASE ";
                out.payload(d.phrase) << "\n";
            }
        }
        if (place) {
            out << "2 PLAC ";
            out.payload(*place) << "\n";
        }
    };
    for (int i = 0; i < n; ++i) {
        if (tick && i % 4096 == 0) tick();
        const Stored& p = persons_[i];
        auto t = texts(i);
        out.record_done();
        out << "0 ";
        out.person(p.id) << " INDI\n";
        if (!t[kFirst]->empty() || !t[kLast]->empty()) {
            out << "1 NAME ";
            out.payload(*t[kFirst]) << (t[kFirst]->empty() ? "/" : " /");
            out.text(*t[kLast]) << "/\n";
        }
        if (!p.withhold && t[kSex]) out << "1 SEX " << *t[kSex] << "\n";
        if (!p.withhold) event("BIRT", t[kBirthDate], t[kBirthPlace]);
        event("DEAT", t[kDeathDate], t[kDeathPlace]);
        if (famc[i] >= 0) {
            out << "1 FAMC ";
            out.family(famc[i]) << "\n";
            if (father[i] >= 0) out << "2 " << kFatherRankTag << " " << p.father_rank << "\n";
            if (mother[i] >= 0) out << "2 " << kMotherRankTag << " " << p.mother_rank << "\n";
        }
        for (int k = fams_start[i]; k < fams_start[i + 1]; ++k) {
            out << "1 FAMS ";
            out.family(spouse_of[k]) << "\n";
        }
    }
    auto moment = [&](const char* tag, const Moment& m) {
        std::string day = m.kind == Moment::Kind::Finite ? day_text(m.day) : "";
        if (day.empty()) {
            out << "1 " << tag << " Y\n";  // it happened, when unknown
            return;
        }
        out << "1 " << tag << "\n2 DATE " << day << "\n";
        if (m.micros) out << "3 TIME " << time_text(m.micros) << "\n";
    };
    for (std::size_t f = 0; f < fams.size(); ++f) {
        if (tick && f % 4096 == 0) tick();
        const Fam& fam = fams[f];
        out.record_done();
        out << "0 ";
        out.family(f) << " FAM\n";
        if (fam.husband >= 0) out << "1 HUSB ", out.person(persons_[fam.husband].id) << "\n";
        if (fam.wife >= 0) out << "1 WIFE ", out.person(persons_[fam.wife].id) << "\n";
        for (int k = child_start[f]; k < child_start[f + 1]; ++k)
            out << "1 CHIL ", out.person(persons_[children[k]].id) << "\n";
        if (fam.parents_only) out << "1 " << kParentsOnlyTag << "\n";
        if (fam.couple < 0) continue;
        const Couple& c = couples_[fam.couple];
        // An unknown start is no MARR: a reader takes it as unknown.
        if (c.started.kind != Moment::Kind::MinusInfinity) moment("MARR", c.started);
        if (c.ended)
            moment("DIV", *c.ended);
        else
            out << "1 " << kCurrentTag << "\n";
    }
    out << "0 TRLR\n";
    out.record_done(true);
}

}  // namespace family::gedcom
