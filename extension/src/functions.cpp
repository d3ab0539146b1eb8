// SQL-callable functions written in C++: ancestors/descendants (breadth
// first, through the indexes), compute_ancestor_rank and repair (both from
// the parent links alone, never from stored derived values).
#include "gedcom_date.hpp"
#include "pg.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace family::pg {
namespace {

// family.person through its indexes (Scanner), on the calling query's
// snapshot: a walk costs the same whatever the planner knows of the table.
class Persons {
  public:
    Persons()
        : scanner_("person"),
          id_(column(scanner_.table(), "id")),
          father_(column(scanner_.table(), "father_id")),
          mother_(column(scanner_.table(), "mother_id")),
          father_rank_(column(scanner_.table(), "father_rank")),
          mother_rank_(column(scanner_.table(), "mother_rank")),
          pk_(scanner_.primary_key()),
          by_father_(scanner_.index("person_father_id")),
          by_mother_(scanner_.index("person_mother_id")) {}

    bool exists(int64 id) {
        Read r{this, nullptr, nullptr};
        scanner_.scan(pk_, {id}, {found, &r});
        return r.found;
    }
    // The links of those of `ids` that exist.
    std::vector<Links> links(const std::vector<PersonId>& ids) {
        std::vector<Links> out;
        Read r{this, nullptr, &out};
        for (PersonId id : ids) scanner_.scan(pk_, {id}, {read_links, &r});
        return out;
    }
    // The parents of `ids` (up), or their children, with repeats.
    std::vector<PersonId> step(const std::vector<PersonId>& ids, bool up) {
        std::vector<PersonId> out;
        Read r{this, &out, nullptr};
        for (PersonId id : ids)
            if (up) {
                scanner_.scan(pk_, {id}, {read_parents, &r});
            } else {
                scanner_.scan(by_father_, {id}, {read_id, &r});
                scanner_.scan(by_mother_, {id}, {read_id, &r});
            }
        return out;
    }
    void finish() { scanner_.finish(); }

  private:
    // What a visitor reads into (through call(): no allocation but the
    // vectors' own).
    struct Read {
        const Persons* p;
        std::vector<PersonId>* ids;
        std::vector<Links>* links;
        bool found = false;
    };
    static std::optional<int64> at(TupleTableSlot* slot, int col) {
        bool isnull = false;
        Datum d = slot_getattr(slot, col, &isnull);
        if (isnull) return std::nullopt;
        // father_rank and mother_rank are int2, ids int8.
        if (TupleDescAttr(slot->tts_tupleDescriptor, col - 1)->atttypid == INT2OID)
            return DatumGetInt16(d);
        return DatumGetInt64(d);
    }
    static bool found(TupleTableSlot*, void* arg) {
        static_cast<Read*>(arg)->found = true;
        return false;
    }
    static bool read_links(TupleTableSlot* slot, void* arg) {
        Read& r = *static_cast<Read*>(arg);
        r.links->push_back({*at(slot, r.p->id_), at(slot, r.p->father_), at(slot, r.p->mother_),
                            static_cast<int>(at(slot, r.p->father_rank_).value_or(0)),
                            static_cast<int>(at(slot, r.p->mother_rank_).value_or(0))});
        return false;
    }
    static bool read_parents(TupleTableSlot* slot, void* arg) {
        Read& r = *static_cast<Read*>(arg);
        for (int col : {r.p->father_, r.p->mother_})
            if (std::optional<int64> id = at(slot, col)) r.ids->push_back(*id);
        return false;
    }
    static bool read_id(TupleTableSlot* slot, void* arg) {
        Read& r = *static_cast<Read*>(arg);
        r.ids->push_back(*at(slot, r.p->id_));
        return true;
    }

    Scanner scanner_;
    int id_, father_, mother_, father_rank_, mother_rank_;
    Oid pk_, by_father_, by_mother_;
};

// Each relative once, at its smallest depth.
std::vector<std::pair<int64, int>> relatives(int64 start, std::optional<int> max_depth, bool up) {
    if (max_depth && *max_depth < 0)
        fail("22023", "max_depth must be 0 or more, not " + std::to_string(*max_depth));
    Persons persons;
    if (!persons.exists(start)) fail("23503", "person " + std::to_string(start) + " does not exist");
    std::vector<std::pair<int64, int>> out = family::relatives(
        start, max_depth,
        [&](const std::vector<PersonId>& frontier) { return persons.step(frontier, up); });
    persons.finish();
    return out;
}

Datum relatives_srf(FunctionCallInfo fcinfo, bool up) {
    if (PG_ARGISNULL(0))
        fail("22023", std::string(up ? "ancestors" : "descendants") + ": person must not be null");
    int64 person = PG_GETARG_INT64(0);
    std::optional<int> max_depth;
    if (!PG_ARGISNULL(1)) max_depth = PG_GETARG_INT32(1);
    call(InitMaterializedSRF, fcinfo, static_cast<bits32>(0));
    std::vector<std::pair<int64, int>> rows = relatives(person, max_depth, up);
    call(
        [](ReturnSetInfo* rsinfo, const std::pair<int64, int>* rows, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i) {
                Datum values[2] = {Int64GetDatum(rows[i].first), Int32GetDatum(rows[i].second)};
                bool nulls[2] = {false, false};
                tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            }
        },
        reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo), rows.data(), rows.size());
    return 0;
}

// Recomputes every person's derived values from the links, writing those
// that differ, in batches. Writers wait meanwhile; readers do not.
int64 repair() {
    constexpr long kChunk = 10000;
    static Statement lock("LOCK TABLE family.person IN SHARE ROW EXCLUSIVE MODE", {});
    lock.run({});
    // Generations may change, and writes that bypassed the triggers
    // (session_replication_role) are what repair is for: family.kinship's
    // copies of the parents are stale from now on.
    note_link_change();
    std::vector<Links> all;
    Portal portal = call([] {
        // Every row: a sequential scan, planned now (Spi turned them off for
        // the statements that look rows up).
        int level = NewGUCNestLevel();
        set_config_option("enable_seqscan", "on", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                          true, 0, false);
        // No operator or unqualified function here: nothing for search_path to hijack.
        Portal portal = SPI_cursor_open_with_args(
            nullptr, "SELECT id, father_id, mother_id, father_rank, mother_rank FROM family.person",
            // Not read-only: at READ COMMITTED a new snapshot, taken after the
            // lock above, so that what committed while we waited is seen.
            0, nullptr, nullptr, nullptr, false, 0);
        AtEOXact_GUC(true, level);
        return portal;
    });
    for (;;) {
        call(SPI_cursor_fetch, portal, true, kChunk);
        uint64 n = SPI_processed;
        for (uint64 i = 0; i < n; ++i) all.push_back(col_links(i));
        call([] { SPI_freetuptable(SPI_tuptable); });
        if (n == 0) break;
    }
    call(SPI_cursor_close, portal);

    int64 changed = 0;
    DerivedBatch batch;
    auto write_in_chunks = [&](const Links& links, const Derived& d) {
        batch.add(links, d);
        if (batch.size() == static_cast<std::size_t>(kChunk)) {
            std::vector<int64> written = batch.write();
            notify_changed(written);  // listeners drop what they cached of these
            changed += static_cast<int64>(written.size());
            batch = DerivedBatch{};
        }
    };
    GraphResult result = derive_all(all, write_in_chunks);
    std::vector<int64> written = batch.write();
    notify_changed(written);
    changed += static_cast<int64>(written.size());
    if (!result.in_cycle.empty())
        fail("FA001",
             "repair: persons " + id_list(result.in_cycle) +
                 " are their own ancestors or descend from such a cycle",
             "Break the cycle by changing a parent link of one of them, then repair again.");
    return changed;
}

}  // namespace
}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_compute_ancestor_rank);
PG_FUNCTION_INFO_V1(family_ancestors);
PG_FUNCTION_INFO_V1(family_descendants);
PG_FUNCTION_INFO_V1(family_repair);
PG_FUNCTION_INFO_V1(family_gedcom_date_error);
PG_FUNCTION_INFO_V1(family_gedcom_date_check);

Datum family_compute_ancestor_rank(PG_FUNCTION_ARGS) {
    int64 person = PG_GETARG_INT64(0);
    std::optional<double> rank;
    Datum result = entry([&] {
        Persons persons;
        rank = family::ancestor_rank(family::ranks_from_scratch(
            person, [&](const std::vector<family::PersonId>& ids) { return persons.links(ids); }));
        persons.finish();
        return Float8GetDatum(rank.value_or(0));
    });
    if (!rank) PG_RETURN_NULL();
    return result;
}

Datum family_ancestors(PG_FUNCTION_ARGS) {
    return entry([&] { return relatives_srf(fcinfo, true); });
}

Datum family_descendants(PG_FUNCTION_ARGS) {
    return entry([&] { return relatives_srf(fcinfo, false); });
}

Datum family_repair(PG_FUNCTION_ARGS) {
    return entry([&] {
        Spi spi;
        int64 changed = repair();
        spi.finish();
        return Int64GetDatum(changed);
    });
}

// gedcom_date_error(text): NULL for a GEDCOM date, else why it is not one.
Datum family_gedcom_date_error(PG_FUNCTION_ARGS) {
    text* t = PG_GETARG_TEXT_PP(0);
    // The reason becomes a text inside entry(): no std::string may live in a
    // frame that a failed palloc would longjmp over.
    return entry([&] {
        std::optional<std::string> why =
            family::gedcom::date_error({VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)});
        Datum out = 0;
        if (why)
            out = PointerGetDatum(
                call(cstring_to_text_with_len, why->data(), static_cast<int>(why->size())));
        else
            fcinfo->isnull = true;
        return out;
    });
}

// gedcom_date_check(value, column): true for a GEDCOM date; else 22007
// naming the column (the CHECK constraints of family.person use it).
Datum family_gedcom_date_check(PG_FUNCTION_ARGS) {
    text* value = PG_GETARG_TEXT_PP(0);
    text* column = PG_GETARG_TEXT_PP(1);
    return entry([&] {
        std::string v(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
        if (std::optional<std::string> why = family::gedcom::date_error(v))
            fail("22007",
                 std::string(VARDATA_ANY(column), VARSIZE_ANY_EXHDR(column)) + " \"" + v +
                     "\" is not a GEDCOM date: " + *why,
                 "A GEDCOM date reads as 12 MAR 1850, MAR 1850, 1850, ABT 1850, BEF 1850, "
                 "BET 1800 AND 1810, FROM 1900 TO 1910, or (a phrase in parentheses).");
        return BoolGetDatum(true);
    });
}
}
