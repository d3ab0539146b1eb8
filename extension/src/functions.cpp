// SQL-callable functions written in C++: ancestors/descendants (breadth
// first, one query per depth), compute_ancestor_rank and repair (both from
// the parent links alone, never from stored derived values).
#include "gedcom_date.hpp"
#include "pg.hpp"

namespace family::pg {
namespace {

std::vector<Links> fetch_links(const std::vector<PersonId>& ids) {
    static Statement q(
        "SELECT id, father_id, mother_id, father_rank, mother_rank FROM family.person"
        " WHERE id = ANY($1)",
        {INT8ARRAYOID});
    std::vector<Links> out;
    uint64 n = q.run({int64_array(ids)}, Statement::Reads::Stable);
    out.reserve(n);
    for (uint64 i = 0; i < n; ++i) out.push_back(col_links(i));
    return out;
}

void require_person(int64 id) {
    static Statement q("SELECT 1 FROM family.person WHERE id = $1", {INT8OID});
    if (q.run({Int64GetDatum(id)}, Statement::Reads::Stable) == 0)
        fail("23503", "person " + std::to_string(id) + " does not exist");
}

// Each relative once, at its smallest depth.
std::vector<std::pair<int64, int>> relatives(int64 start, std::optional<int> max_depth, bool up) {
    static Statement parents("SELECT father_id, mother_id FROM family.person WHERE id = ANY($1)",
                             {INT8ARRAYOID});
    static Statement children(
        "SELECT id FROM family.person WHERE father_id IN (SELECT unnest($1::int8[]))"
        " UNION ALL "
        "SELECT id FROM family.person WHERE mother_id IN (SELECT unnest($1::int8[]))",
        {INT8ARRAYOID});
    if (max_depth && *max_depth < 0)
        fail("22023", "max_depth must be 0 or more, not " + std::to_string(*max_depth));
    require_person(start);
    return family::relatives(start, max_depth, [&](const std::vector<PersonId>& frontier) {
        uint64 n = (up ? parents : children).run({int64_array(frontier)}, Statement::Reads::Stable);
        std::vector<PersonId> next;
        for (uint64 i = 0; i < n; ++i)
            for (int col = 1; col <= (up ? 2 : 1); ++col)
                if (std::optional<int64> id = col_int64(i, col)) next.push_back(*id);
        return next;
    });
}

Datum relatives_srf(FunctionCallInfo fcinfo, bool up) {
    if (PG_ARGISNULL(0))
        fail("22023", std::string(up ? "ancestors" : "descendants") + ": person must not be null");
    int64 person = PG_GETARG_INT64(0);
    std::optional<int> max_depth;
    if (!PG_ARGISNULL(1)) max_depth = PG_GETARG_INT32(1);
    guard([&] { InitMaterializedSRF(fcinfo, 0); });
    Spi spi;
    std::vector<std::pair<int64, int>> rows = relatives(person, max_depth, up);
    spi.finish();
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    guard([&] {
        for (std::size_t i = 0; i < rows.size(); ++i) {
            Datum values[2] = {Int64GetDatum(rows[i].first), Int32GetDatum(rows[i].second)};
            bool nulls[2] = {false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return 0;
}

// Recomputes every person's derived values from the links, writing those
// that differ, in batches. Writers wait meanwhile; readers do not.
int64 repair() {
    constexpr long kChunk = 10000;
    static Statement lock("LOCK TABLE family.person IN SHARE ROW EXCLUSIVE MODE", {});
    lock.run({});
    std::vector<Links> all;
    Portal portal = nullptr;
    guard([&] {
        // No operator or unqualified function here: nothing for search_path to hijack.
        portal = SPI_cursor_open_with_args(
            nullptr, "SELECT id, father_id, mother_id, father_rank, mother_rank FROM family.person",
            // Not read-only: at READ COMMITTED a new snapshot, taken after the
            // lock above, so that what committed while we waited is seen.
            0, nullptr, nullptr, nullptr, false, 0);
    });
    for (;;) {
        guard([&] { SPI_cursor_fetch(portal, true, kChunk); });
        uint64 n = SPI_processed;
        for (uint64 i = 0; i < n; ++i) all.push_back(col_links(i));
        guard([] { SPI_freetuptable(SPI_tuptable); });
        if (n == 0) break;
    }
    guard([&] { SPI_cursor_close(portal); });

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
        Spi spi;
        rank = family::ancestor_rank(family::ranks_from_scratch(person, fetch_links));
        spi.finish();
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
            guard([&] {
                out = PointerGetDatum(
                    cstring_to_text_with_len(why->data(), static_cast<int>(why->size())));
            });
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
