// Generated from bots.txt by `CLICKPATH_REGENERATE=1 swift test --filter BotListTests`. Do not edit.
// A test fails when this copy differs from bots.txt.
let embeddedBotList = #"""
# Clickpath bot list: beacons whose User-Agent contains one of these patterns are dropped
# (answered 202, never stored) and counted per family in the collector's metrics. The policy
# (what counts as a bot, as a non-browser program, how to add a pattern) is in
# Sources/Beacon/README.md.
#
# Format: a line `[family] options` starts a family; every other non-empty line is a pattern.
# Patterns are plain substrings (no regular expressions), matched case-insensitively against
# the whole User-Agent; `^` and `$` anchor a pattern to its start or end. Options:
#   web-only      the family applies to web beacons only (native apps and servers send their
#                 own User-Agents legitimately)
#   non-browser   drops count as non-browser programs (clickpath_non_browser_dropped_total),
#                 not as bots (clickpath_bots_dropped_total)
#   browser-mark  the patterns never drop: they say the User-Agent is a browser's
#   unmarked      no patterns: matches a User-Agent that no other pattern matched and that
#                 carries no browser mark
# A pattern must never occur in a real browser's or app's User-Agent:
# Tests/BeaconTests/BotFixtureTests.swift measures the list on Matomo's device-detector fixtures
# (Tests/BeaconTests/Data/device-detector). After editing, regenerate the embedded copy with
# `CLICKPATH_REGENERATE=1 swift test --filter BotListTests` and commit both files.
# Matching stops at the first dropping pattern found; when several match, the earliest in the
# User-Agent wins, so the family of a specific pattern may give way to a generic one.

[headless]
headlesschrome
phantomjs
slimerjs
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
^scooter/
globalwebsearch
internetsearch
internetxsearch
safexinternet
searcherweb
searcherxweb
wordup
charlotte/
ichiro/
gozlebot
y!j-
wibybot
zao/
vagabondo
trendiction
speedyspider
muscatferret
plukkie
pompos/
(compatible; odin;
najdu.s.holubem
baidu transcoder
daumoa
firefox mutant
google-lens
google-speakr
google-youtube
google-assess
google-publisher
google-hotelads
google-businesslink
google-sites
google-transparency
google-cloud-scheduler
google-extended
google-firebase
google-ilp
google-notebooklm
google-pinpoint
google-amphtml
googleprober
googlesites
googleadsenseinfeed
google search console
^google$
gigablast
mnogosearch
voilabot
tracemyfile
nutch-
larbin
yahoocachesystem
yahoo:linkexpander
duplexweb-google
playstore-google
seznamemailproxy
ramblermail
mail.ukr.net
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
yandex.com/bots
yandex.ru/bots
ya.cc/bots
yandexbot
yandex.gazeta
yadirectfetcher
sogou web
sogou inst
sogou pic
sogou head
sogou orion
sogou-test
sogou push
sogou news
sogou video
exabot
seznambot
applebot
petalbot
aspiegelbot
yisouspider
360spider
coccoc
naverbot
adsbot-naver
naverjapan
naver.com/
naver.jp/
naver corp
yeti/
daum/
qwantify
qwantbot
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
amazonbuyforme
amzn-user
bigsur.ai
claude-user
devin/
githubcopilotchat
manus-user
pangubot
webzio
spawning-ai
the knowledge ai
amazon-kendra
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
bloglines
bloglovin
commafeed
feedburner
feed wrangler
(feed parser;
newsgatoronline
silverreader
substackcontentfetch
livejournal.com
hackermention
fedilist
meltwaternews
veryhip
roi hunter
adbeat.com
admantx
ias wombles
gumgum
brandverity
linkwalker
tineye
hatena-favicon
spaziodati
grammarly/1.0 (http
twurly
bluesky cardyb
facebookexternalua
outbrain
nuzzel
twingly
trendsmapresolver
hatenabookmark
asana/
pagething
workona-favicon
steamchaturllookup
github-camo
sprinklr
infegy
ubermetrics
evc-batch
facebookexternalhit
facebot
facebookcatalog
meta-externalads
twitterbot
linkedinbot
pinterestbot
pinterest/0.
slackbot
slack-imgproxy
discordbot
telegrambot
whatsapp/2.2
skypeuripreview
redditbot
embedly
iframely
vkshare
viberurldownloader
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
ezooms
backlinksextended
serpreputationmanagement
(compatible; optimizer)
seobility
seopult
marketgoo
whatcms
cmslookup
builtwith
(compatible; bw/
morningscore
domainreanimator
kenyadomainscorer
importdomains
findergo
formfinder
artelleadradar
prospectorbr
geedoshop
letrixlabs
pageburst
mixnode
ortc.me
panscient
copyviodetector
dormouse
owler
sparkler
kaupr
sqalix
bdfetch
brightbot
castopod
karnoprospecting
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
xenu link sleuth
report runner
test certificate
dataminr
bidtellect
adreview/
multi-country-domains
greedyhand
nsfw-go
intently.co
leadgen
adoption study
survey;
-survey
survey-
wp_is_mobile
geckoversion
route 53 health
route53-health
alexa site audit
httpmon
uptimia
eyemonit
onlineornot
oh dear
checkhost
whatsmyip.org
w3c-mobileok
sentry/
paypal ipn
plesk screenshot
backupland
2gdpr
cispa web
isitwp
^wordpress/
xenforo/
mycellar
sitemapparser
inspici
visionheight
project-resonance
ltx71
abonti
gdnplus
kocmohabt
secweb
hanaleibot
scamadviser
electronic frontier foundation
apachebench
blackbox exporter
prometheus/
grafana/
collectd/
munin/
matomo/
cloudflare
thousandeyes
webmon/
ghost inspector
dmbrowser
360jk
sixy.ch
google page speed
trackable/
hlb/
functionize
convertify
cybaaagent
tag inspector
taginspector
browsershots
csscheck
comodo dcv
sectigo dcv
barracuda sentinel
internal dummy connection
castro 2, episode duration
prefetch proxy
kiwitcms
azure-logic-apps
zoterotranslationserver
phpmyadmin
webmoney advisor
blackboardally
reqbin
sitesucker
robozilla
rainmeter
netlyzer
itms$
pocketimagecache
blogtrottr
kouio
sffeedreader
pdrl.fm
fragfinn
prittorrent
email exractor
emailwolf
simbiat
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
newsblur feed
newsblur page
newsblur favicon
freshrss
miniflux
tiny tiny rss
theoldreader
superfeedr
simplepie
netvibes
rssbot
rssing

[http-library] web-only non-browser
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
^java/
 java/1
apache-httpclient
libwww-perl
lwp::
guzzlehttp
php-curl-class
ruby/
^ruby
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
terracotta https
punkmap
http banner detection
turnitin
gocolly
projectdiscovery
newspaper/0.
acme.sectigo
arachni
assetnote
detectify
exchange check
goosee
jndi:
${
<?
{{
kaspersky lab
rootevidence
xmco.fr
shodan
bitdiscovery
l9tcpid
wp2shell
gobuster
cyberscan
xtate/
phishbucket
aegis.network
ucsbnetworkmeasurement
project_patchwatch
infrawatch
onlyscans
recon-engine
sslshed
laravel reaver
scanner
scanning
ips-agent
openvas
whatweb
zmeu
researchscan
security scan
securitytrails
securityheaders
zgrab
masscan
nmap
nuclei
censysinspect
expanse, a palo alto
expanse indexes
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
^chrome$
^firefox$
^node$
node.js
request-promise
^ahc/
libredtail
^url$
^parser$
^zeno$
^spotify/1.0$
spark commit
+http
.io/
; +http
.html
.php
useragent
user agent
user_agent
user-agent
hello world
hello, world
mailto:
(compatible)
(compatible; +
archive
research
bot/
bot-
-bot
+bot
bot.
bot$
bot:
bot v
bot (
robot
crawl
spider/
spider;
spider+
spider-
spider (
spider)
spider$
spider.
spider@
spider v
spider,
spider_
scraper
scrape
fetcher
preview
archiver
checker
monitor
indexer
validator
[at]
(at)

# A browser never puts a URL in its User-Agent; crawlers do, and so do some apps (podcast
# players, feed readers), so on native platforms these do not count.
[url] web-only
(http:
(https:
; http:
; https:
(www.
; www.
 http://www.
 https://www.

# A web beacon comes from a browser. Browsers identify as Mozilla/ (Opera before 2013 as
# Opera/); phones, TVs and consoles whose browsers do not still name a browser part (UCWEB,
# UP.Browser, NetFront, MIDP, HbbTV...). `browser-mark` patterns never drop: they record that
# the User-Agent looks like a browser. `unmarked` matches a User-Agent that no other pattern
# matched and that carries no browser mark; web-only, since native apps and servers
# legitimately send their own User-Agent.
[browser] browser-mark
^mozilla/
^opera/
ucweb/
ucbrowser
dalvik/
midp
up.browser
netfront
obigo
hbbtv
safari/
applewebkit
opr/
browser/
profile/
maui
wap
opera
lynx/
elinks
w3m/
dillo/
msie
chromium
cronet/
docomo/
ucweb
mosaic/
ncsa_mosaic
^links (
amigavoyager
ibrowse/
^iphone
^ipodtouch

[other-program] web-only non-browser unmarked

"""#
