// family-web on Pistache: each request read by Pistache is answered by
// dispatch(), then sent, counted and logged.
#pragma once

#include <pistache/http.h>

#include "app.hpp"

namespace family::web {

void handle(App& app, const Pistache::Http::Request& request,
            Pistache::Http::ResponseWriter response);

}  // namespace family::web
