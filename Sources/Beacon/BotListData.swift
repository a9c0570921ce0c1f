// Generated from bots.txt by `CLICKPATH_REGENERATE=1 swift test --filter BotListTests`. Do not edit.
// A test fails when this copy differs from bots.txt.
let embeddedBotList = #"""
# Clickpath bot list: beacons whose User-Agent contains one of these patterns are dropped
# (answered 202, never stored) and counted per family in the collector's metrics.
#
# Format: a line `[family]` starts a family; every other non-empty line is a pattern.
# Patterns are plain substrings (no regular expressions), matched case-insensitively against
# the whole User-Agent. A pattern should be specific enough never to occur in a real browser's
# User-Agent: Tests/BeaconTests/BotTests.swift measures recall on crawler user agents and false
# drops on browser user agents (Tests/BeaconTests/Data). After editing, regenerate the embedded
# copy with `CLICKPATH_REGENERATE=1 swift test --filter BotListTests` and commit both files.
# Matching stops at the first pattern found; when several match, the earliest in the
# User-Agent wins, so the family of a specific pattern may give way to a generic one.

[headless]
headlesschrome
phantomjs
slimerjs
electron/
puppeteer
playwright
selenium
webdriver
chrome-lighthouse
lighthouse
pagespeed
ptst/
gtmetrix
splash
htmlunit
nightmare
zombie.js
jsdom/
cypress/

[search-engine]
googleimageproxy
google-xrawler
google-adwords
google-ads
google-certificates
googleassociationservice
swisscows
marginalia
googlebot
google-inspectiontool
googleother
storebot-google
adsbot-google
mediapartners-google
feedfetcher-google
apis-google
google favicon
google-read-aloud
google-safety
google web preview
google-structured-data
google-site-verification
bingbot
bingpreview
msnbot
adidxbot
slurp
duckduckbot
duckduckgo-favicons
baiduspider
baidu-yunguance
yandex
sogou
exabot
seznambot
applebot
petalbot
aspiegelbot
yisouspider
360spider
coccoc
naver
yeti/
daum/
qwantify
qwant
mojeekbot
gigabot
teoma
ia_archiver
archive.org_bot
heritrix
ccbot
amazonbot
bytespider
toutiaospider

[ai-crawler]
gptbot
chatgpt-user
oai-searchbot
claudebot
claude-web
anthropic-ai
perplexitybot
cohere-ai
youbot
diffbot
meta-externalagent
meta-externalfetcher
imagesiftbot
omgili
timpibot
ai2bot

[social-preview]
facebookexternalhit
facebot
facebookcatalog
meta-externalads
twitterbot
linkedinbot
pinterest
slackbot
slack-imgproxy
discordbot
telegrambot
whatsapp
skypeuripreview
redditbot
embedly
iframely
vkshare
viber
snap url preview
tiktokspider
mastodon
lemmy
flipboardproxy
tumblr
bitlybot
microsoftpreview
summalybot
groupmebot

[seo]
datanyze
sitemaps
siteauditor
ahrefs
semrush
mj12bot
dotbot
rogerbot
blexbot
serpstatbot
seokicks
sistrix
screaming frog
megaindex
linkdex
dataforseobot
barkrowler
seobilitybot
siteimprove
oncrawl
botify
seranking
searchatlas
brightedge
linkfluence

[monitoring]
uptime
uptrends
nodeping
panopta
ssl labs
keycdn-tools
updown.io
honeybadger
pingdom
uptimerobot
uptime-kuma
uptime.com
uptimebot
statuscake
site24x7
newrelicpinger
datadog
ruxitsynthetic
dynatrace
catchpoint
freshping
better uptime
nixstats
zabbix
nagios
check_http
monitis
appinsights
cloudflare-healthchecks
cloudflare-alwaysonline
changedetection
deadlinkchecker
w3c_validator
w3c-checklink
validator.nu
feedvalidator

[feed-reader]
feedly
feedbin
feedspot
inoreader
newsblur
freshrss
miniflux
tiny tiny rss
theoldreader
superfeedr
simplepie
netvibes
rssbot
rssing

[http-library] web-only
httpclient
http client
http-client
http request
indy library
colly/
newspaper/
lwp-
httpunit
curl/
wget/
python-requests
python-urllib
python-httpx
httpx/
aiohttp
go-http-client
okhttp
axios/
node-fetch
undici
java/
apache-httpclient
libwww-perl
lwp::
guzzlehttp
php-curl-class
ruby
faraday
postmanruntime
insomnia
httpie
scrapy
httrack
winhttp
jakarta
http_get
got (https://github.com/sindresorhus/got)
pycurl
restsharp
dart:io

[scanner]
scanner
scanning
ips-agent
openvas
whatweb
zmeu
researchscan
security
zgrab
masscan
nmap
nuclei
censysinspect
expanse
internetmeasurement
netcraft
virustotal
nessus
qualys
acunetix
sqlmap
nikto
l9explore
bitsightbot

[generic]
archive
research
bot/
bot;
bot)
bot-
-bot
_bot
+bot
bot.
bot$
bot_
bot:
 bot 
bot v
bot (
robot
crawl
spider
scraper
scrape
fetcher
preview
archiver
checker
monitor
indexer
validator
+http
http://
https://
www.
.com/
.io/
[at]
(at)

# Browsers identify as Mozilla/ (Opera before 2013 as Opera/); a web beacon from anything else
# came from a program. `not ^prefix` lines: the family matches when the User-Agent starts with
# none of them. web-only: native apps and servers legitimately send their own User-Agent.
[non-browser] web-only
not ^mozilla/
not ^opera/

"""#
