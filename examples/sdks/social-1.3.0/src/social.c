#include "social/social.h"
#include "analytics/analytics.h"

int social_share(const char *url) { return analytics_track_with("social.share", url); }
