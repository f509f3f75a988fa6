// @ts-nocheck
// Generated from CONFIG_SCHEMA (src/app/config-schema.ts) by ajv 8.20.0 (standalone code): do not edit.
// tests/unit/generated-validators.test.ts fails while this differs from what the schema compiles to;
// LOOM_WRITE_GENERATED=1 npx vitest run tests/unit/generated-validators.test.ts rewrites it.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
export const validateConfigFile = validate10;
const schema11 = {"type":"object","additionalProperties":false,"properties":{"project":{"type":"object","additionalProperties":false,"required":["id","name"],"properties":{"id":{"type":"string","pattern":"^[a-z0-9][a-z0-9_-]{0,99}$"},"name":{"type":"string","minLength":1},"store":{"enum":["embedded","server"]},"store_id":{"type":"string","pattern":"^[0-9a-f-]{36}$"}}},"database_url":{"type":"string","pattern":"^postgres(ql)?://"},"redis_url":{"type":"string","pattern":"^rediss?://"},"redis":{"type":"object","additionalProperties":false,"properties":{"key_prefix":{"type":"string","pattern":"^[!-~]{1,100}$"},"cache":{"type":"boolean"}}},"tasks":{"type":"object","additionalProperties":false,"properties":{"max_attempts":{"type":"integer","minimum":1,"maximum":100},"lease_seconds":{"type":"integer","minimum":1,"maximum":86400},"failure_policy":{"enum":["block","cancel"]},"max_context_bytes":{"type":"integer","minimum":1024,"maximum":1048576},"max_output_bytes":{"type":"integer","minimum":1024,"maximum":1048576},"retry":{"type":"object","additionalProperties":false,"properties":{"base_ms":{"type":"integer","minimum":1},"factor":{"type":"number","minimum":1},"max_ms":{"type":"integer","minimum":1}}}}},"daemon":{"type":"object","additionalProperties":false,"properties":{"idle_timeout_seconds":{"type":"integer","minimum":1},"shared_buffers_mb":{"type":"integer","minimum":1,"maximum":1024}}},"notifications":{"type":"object","additionalProperties":false,"properties":{"notifiers":{"type":"array","maxItems":100,"items":{"type":"object","required":["name","type"],"maxProperties":64,"properties":{"name":{"type":"string","pattern":"^[a-z0-9][a-z0-9_-]{0,63}$"},"type":{"anyOf":[{"enum":["console","webhook"]},{"type":"string","pattern":"^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$"}]}},"if":{"properties":{"type":{"enum":["console","webhook"]}}},"then":{"additionalProperties":false,"properties":{"name":true,"type":true,"url":{"type":"string","pattern":"^https?://[^\\s]+$"},"secret":{"type":"string","minLength":1},"timeout_ms":{"type":"integer","minimum":100,"maximum":120000},"retries":{"type":"integer","minimum":0,"maximum":20}},"if":{"properties":{"type":{"const":"webhook"}}},"then":{"required":["url","secret"],"properties":{"url":true,"secret":true}},"else":{"properties":{"url":false,"secret":false,"timeout_ms":false,"retries":false}}}}},"routes":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["notifier","events"],"properties":{"notifier":{"type":"string","minLength":1},"events":{"type":"array","minItems":1,"items":{"type":"string","pattern":"^(\\*|[a-z_]+\\.\\*|[a-z_]+\\.[a-z_]+)$"}}}}}}},"plugins":{"type":"object","additionalProperties":false,"properties":{"paths":{"type":"array","items":{"type":"string","minLength":1,"maxLength":1024},"maxItems":100},"trust":{"type":"array","items":{"type":"string","pattern":"^[a-z][a-z0-9-]{0,63}$"},"maxItems":100,"uniqueItems":true}}},"orchestration":{"type":"object","additionalProperties":false,"properties":{"tick_seconds":{"type":"integer","minimum":1},"stuck_after_seconds":{"type":"integer","minimum":1},"max_lease_expiries":{"type":"integer","minimum":1},"agent_idle_after_seconds":{"type":"integer","minimum":1},"agent_gone_after_seconds":{"type":"integer","minimum":1},"runner_options":{"type":"object","maxProperties":100,"propertyNames":{"pattern":"^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$"},"additionalProperties":{"type":"object"}}}},"mcp":{"type":"object","additionalProperties":false,"properties":{"tools":{"type":"array","items":{"enum":["core","planning","admin"]},"minItems":1,"uniqueItems":true}}},"serve":{"type":"object","additionalProperties":false,"properties":{"token":{"type":"string","pattern":"^[!-~]{16,512}$"},"tokens":{"type":"array","maxItems":1000,"items":{"type":"object","additionalProperties":false,"required":["name","sha256"],"properties":{"name":{"type":"string","pattern":"^[a-z0-9][a-z0-9._-]{0,63}$"},"sha256":{"type":"string","pattern":"^[0-9a-f]{64}$"}}}},"host":{"type":"string","minLength":1,"maxLength":255},"port":{"type":"integer","minimum":0,"maximum":65535}}}}};
const func2 = Object.prototype.hasOwnProperty;
const func3 = require("ajv/dist/runtime/ucs2length").default;
const func0 = require("ajv/dist/runtime/equal").default;
const pattern0 = new RegExp("^[a-z0-9][a-z0-9_-]{0,99}$", "u");
const pattern1 = new RegExp("^[0-9a-f-]{36}$", "u");
const pattern2 = new RegExp("^postgres(ql)?://", "u");
const pattern3 = new RegExp("^rediss?://", "u");
const pattern4 = new RegExp("^[!-~]{1,100}$", "u");
const pattern5 = new RegExp("^https?://[^\\s]+$", "u");
const pattern6 = new RegExp("^[a-z0-9][a-z0-9_-]{0,63}$", "u");
const pattern7 = new RegExp("^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$", "u");
const pattern8 = new RegExp("^(\\*|[a-z_]+\\.\\*|[a-z_]+\\.[a-z_]+)$", "u");
const pattern9 = new RegExp("^[a-z][a-z0-9-]{0,63}$", "u");
const pattern11 = new RegExp("^[!-~]{16,512}$", "u");
const pattern12 = new RegExp("^[a-z0-9][a-z0-9._-]{0,63}$", "u");
const pattern13 = new RegExp("^[0-9a-f]{64}$", "u");

function validate10(data, {instancePath="", parentData, parentDataProperty, rootData=data}={}){
let vErrors = null;
let errors = 0;
if(data && typeof data == "object" && !Array.isArray(data)){
for(const key0 in data){
if(!(func2.call(schema11.properties, key0))){
const err0 = {instancePath,schemaPath:"#/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key0},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err0];
}
else {
vErrors.push(err0);
}
errors++;
}
}
if(data.project !== undefined){
let data0 = data.project;
if(data0 && typeof data0 == "object" && !Array.isArray(data0)){
if(data0.id === undefined){
const err1 = {instancePath:instancePath+"/project",schemaPath:"#/properties/project/required",keyword:"required",params:{missingProperty: "id"},message:"must have required property '"+"id"+"'"};
if(vErrors === null){
vErrors = [err1];
}
else {
vErrors.push(err1);
}
errors++;
}
if(data0.name === undefined){
const err2 = {instancePath:instancePath+"/project",schemaPath:"#/properties/project/required",keyword:"required",params:{missingProperty: "name"},message:"must have required property '"+"name"+"'"};
if(vErrors === null){
vErrors = [err2];
}
else {
vErrors.push(err2);
}
errors++;
}
for(const key1 in data0){
if(!((((key1 === "id") || (key1 === "name")) || (key1 === "store")) || (key1 === "store_id"))){
const err3 = {instancePath:instancePath+"/project",schemaPath:"#/properties/project/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key1},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err3];
}
else {
vErrors.push(err3);
}
errors++;
}
}
if(data0.id !== undefined){
let data1 = data0.id;
if(typeof data1 === "string"){
if(!pattern0.test(data1)){
const err4 = {instancePath:instancePath+"/project/id",schemaPath:"#/properties/project/properties/id/pattern",keyword:"pattern",params:{pattern: "^[a-z0-9][a-z0-9_-]{0,99}$"},message:"must match pattern \""+"^[a-z0-9][a-z0-9_-]{0,99}$"+"\""};
if(vErrors === null){
vErrors = [err4];
}
else {
vErrors.push(err4);
}
errors++;
}
}
else {
const err5 = {instancePath:instancePath+"/project/id",schemaPath:"#/properties/project/properties/id/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err5];
}
else {
vErrors.push(err5);
}
errors++;
}
}
if(data0.name !== undefined){
let data2 = data0.name;
if(typeof data2 === "string"){
if(func3(data2) < 1){
const err6 = {instancePath:instancePath+"/project/name",schemaPath:"#/properties/project/properties/name/minLength",keyword:"minLength",params:{limit: 1},message:"must NOT have fewer than 1 characters"};
if(vErrors === null){
vErrors = [err6];
}
else {
vErrors.push(err6);
}
errors++;
}
}
else {
const err7 = {instancePath:instancePath+"/project/name",schemaPath:"#/properties/project/properties/name/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err7];
}
else {
vErrors.push(err7);
}
errors++;
}
}
if(data0.store !== undefined){
let data3 = data0.store;
if(!((data3 === "embedded") || (data3 === "server"))){
const err8 = {instancePath:instancePath+"/project/store",schemaPath:"#/properties/project/properties/store/enum",keyword:"enum",params:{allowedValues: schema11.properties.project.properties.store.enum},message:"must be equal to one of the allowed values"};
if(vErrors === null){
vErrors = [err8];
}
else {
vErrors.push(err8);
}
errors++;
}
}
if(data0.store_id !== undefined){
let data4 = data0.store_id;
if(typeof data4 === "string"){
if(!pattern1.test(data4)){
const err9 = {instancePath:instancePath+"/project/store_id",schemaPath:"#/properties/project/properties/store_id/pattern",keyword:"pattern",params:{pattern: "^[0-9a-f-]{36}$"},message:"must match pattern \""+"^[0-9a-f-]{36}$"+"\""};
if(vErrors === null){
vErrors = [err9];
}
else {
vErrors.push(err9);
}
errors++;
}
}
else {
const err10 = {instancePath:instancePath+"/project/store_id",schemaPath:"#/properties/project/properties/store_id/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err10];
}
else {
vErrors.push(err10);
}
errors++;
}
}
}
else {
const err11 = {instancePath:instancePath+"/project",schemaPath:"#/properties/project/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err11];
}
else {
vErrors.push(err11);
}
errors++;
}
}
if(data.database_url !== undefined){
let data5 = data.database_url;
if(typeof data5 === "string"){
if(!pattern2.test(data5)){
const err12 = {instancePath:instancePath+"/database_url",schemaPath:"#/properties/database_url/pattern",keyword:"pattern",params:{pattern: "^postgres(ql)?://"},message:"must match pattern \""+"^postgres(ql)?://"+"\""};
if(vErrors === null){
vErrors = [err12];
}
else {
vErrors.push(err12);
}
errors++;
}
}
else {
const err13 = {instancePath:instancePath+"/database_url",schemaPath:"#/properties/database_url/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err13];
}
else {
vErrors.push(err13);
}
errors++;
}
}
if(data.redis_url !== undefined){
let data6 = data.redis_url;
if(typeof data6 === "string"){
if(!pattern3.test(data6)){
const err14 = {instancePath:instancePath+"/redis_url",schemaPath:"#/properties/redis_url/pattern",keyword:"pattern",params:{pattern: "^rediss?://"},message:"must match pattern \""+"^rediss?://"+"\""};
if(vErrors === null){
vErrors = [err14];
}
else {
vErrors.push(err14);
}
errors++;
}
}
else {
const err15 = {instancePath:instancePath+"/redis_url",schemaPath:"#/properties/redis_url/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err15];
}
else {
vErrors.push(err15);
}
errors++;
}
}
if(data.redis !== undefined){
let data7 = data.redis;
if(data7 && typeof data7 == "object" && !Array.isArray(data7)){
for(const key2 in data7){
if(!((key2 === "key_prefix") || (key2 === "cache"))){
const err16 = {instancePath:instancePath+"/redis",schemaPath:"#/properties/redis/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key2},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err16];
}
else {
vErrors.push(err16);
}
errors++;
}
}
if(data7.key_prefix !== undefined){
let data8 = data7.key_prefix;
if(typeof data8 === "string"){
if(!pattern4.test(data8)){
const err17 = {instancePath:instancePath+"/redis/key_prefix",schemaPath:"#/properties/redis/properties/key_prefix/pattern",keyword:"pattern",params:{pattern: "^[!-~]{1,100}$"},message:"must match pattern \""+"^[!-~]{1,100}$"+"\""};
if(vErrors === null){
vErrors = [err17];
}
else {
vErrors.push(err17);
}
errors++;
}
}
else {
const err18 = {instancePath:instancePath+"/redis/key_prefix",schemaPath:"#/properties/redis/properties/key_prefix/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err18];
}
else {
vErrors.push(err18);
}
errors++;
}
}
if(data7.cache !== undefined){
if(typeof data7.cache !== "boolean"){
const err19 = {instancePath:instancePath+"/redis/cache",schemaPath:"#/properties/redis/properties/cache/type",keyword:"type",params:{type: "boolean"},message:"must be boolean"};
if(vErrors === null){
vErrors = [err19];
}
else {
vErrors.push(err19);
}
errors++;
}
}
}
else {
const err20 = {instancePath:instancePath+"/redis",schemaPath:"#/properties/redis/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err20];
}
else {
vErrors.push(err20);
}
errors++;
}
}
if(data.tasks !== undefined){
let data10 = data.tasks;
if(data10 && typeof data10 == "object" && !Array.isArray(data10)){
for(const key3 in data10){
if(!((((((key3 === "max_attempts") || (key3 === "lease_seconds")) || (key3 === "failure_policy")) || (key3 === "max_context_bytes")) || (key3 === "max_output_bytes")) || (key3 === "retry"))){
const err21 = {instancePath:instancePath+"/tasks",schemaPath:"#/properties/tasks/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key3},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err21];
}
else {
vErrors.push(err21);
}
errors++;
}
}
if(data10.max_attempts !== undefined){
let data11 = data10.max_attempts;
if(!(((typeof data11 == "number") && (!(data11 % 1) && !isNaN(data11))) && (isFinite(data11)))){
const err22 = {instancePath:instancePath+"/tasks/max_attempts",schemaPath:"#/properties/tasks/properties/max_attempts/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err22];
}
else {
vErrors.push(err22);
}
errors++;
}
if((typeof data11 == "number") && (isFinite(data11))){
if(data11 > 100 || isNaN(data11)){
const err23 = {instancePath:instancePath+"/tasks/max_attempts",schemaPath:"#/properties/tasks/properties/max_attempts/maximum",keyword:"maximum",params:{comparison: "<=", limit: 100},message:"must be <= 100"};
if(vErrors === null){
vErrors = [err23];
}
else {
vErrors.push(err23);
}
errors++;
}
if(data11 < 1 || isNaN(data11)){
const err24 = {instancePath:instancePath+"/tasks/max_attempts",schemaPath:"#/properties/tasks/properties/max_attempts/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err24];
}
else {
vErrors.push(err24);
}
errors++;
}
}
}
if(data10.lease_seconds !== undefined){
let data12 = data10.lease_seconds;
if(!(((typeof data12 == "number") && (!(data12 % 1) && !isNaN(data12))) && (isFinite(data12)))){
const err25 = {instancePath:instancePath+"/tasks/lease_seconds",schemaPath:"#/properties/tasks/properties/lease_seconds/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err25];
}
else {
vErrors.push(err25);
}
errors++;
}
if((typeof data12 == "number") && (isFinite(data12))){
if(data12 > 86400 || isNaN(data12)){
const err26 = {instancePath:instancePath+"/tasks/lease_seconds",schemaPath:"#/properties/tasks/properties/lease_seconds/maximum",keyword:"maximum",params:{comparison: "<=", limit: 86400},message:"must be <= 86400"};
if(vErrors === null){
vErrors = [err26];
}
else {
vErrors.push(err26);
}
errors++;
}
if(data12 < 1 || isNaN(data12)){
const err27 = {instancePath:instancePath+"/tasks/lease_seconds",schemaPath:"#/properties/tasks/properties/lease_seconds/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err27];
}
else {
vErrors.push(err27);
}
errors++;
}
}
}
if(data10.failure_policy !== undefined){
let data13 = data10.failure_policy;
if(!((data13 === "block") || (data13 === "cancel"))){
const err28 = {instancePath:instancePath+"/tasks/failure_policy",schemaPath:"#/properties/tasks/properties/failure_policy/enum",keyword:"enum",params:{allowedValues: schema11.properties.tasks.properties.failure_policy.enum},message:"must be equal to one of the allowed values"};
if(vErrors === null){
vErrors = [err28];
}
else {
vErrors.push(err28);
}
errors++;
}
}
if(data10.max_context_bytes !== undefined){
let data14 = data10.max_context_bytes;
if(!(((typeof data14 == "number") && (!(data14 % 1) && !isNaN(data14))) && (isFinite(data14)))){
const err29 = {instancePath:instancePath+"/tasks/max_context_bytes",schemaPath:"#/properties/tasks/properties/max_context_bytes/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err29];
}
else {
vErrors.push(err29);
}
errors++;
}
if((typeof data14 == "number") && (isFinite(data14))){
if(data14 > 1048576 || isNaN(data14)){
const err30 = {instancePath:instancePath+"/tasks/max_context_bytes",schemaPath:"#/properties/tasks/properties/max_context_bytes/maximum",keyword:"maximum",params:{comparison: "<=", limit: 1048576},message:"must be <= 1048576"};
if(vErrors === null){
vErrors = [err30];
}
else {
vErrors.push(err30);
}
errors++;
}
if(data14 < 1024 || isNaN(data14)){
const err31 = {instancePath:instancePath+"/tasks/max_context_bytes",schemaPath:"#/properties/tasks/properties/max_context_bytes/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1024},message:"must be >= 1024"};
if(vErrors === null){
vErrors = [err31];
}
else {
vErrors.push(err31);
}
errors++;
}
}
}
if(data10.max_output_bytes !== undefined){
let data15 = data10.max_output_bytes;
if(!(((typeof data15 == "number") && (!(data15 % 1) && !isNaN(data15))) && (isFinite(data15)))){
const err32 = {instancePath:instancePath+"/tasks/max_output_bytes",schemaPath:"#/properties/tasks/properties/max_output_bytes/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err32];
}
else {
vErrors.push(err32);
}
errors++;
}
if((typeof data15 == "number") && (isFinite(data15))){
if(data15 > 1048576 || isNaN(data15)){
const err33 = {instancePath:instancePath+"/tasks/max_output_bytes",schemaPath:"#/properties/tasks/properties/max_output_bytes/maximum",keyword:"maximum",params:{comparison: "<=", limit: 1048576},message:"must be <= 1048576"};
if(vErrors === null){
vErrors = [err33];
}
else {
vErrors.push(err33);
}
errors++;
}
if(data15 < 1024 || isNaN(data15)){
const err34 = {instancePath:instancePath+"/tasks/max_output_bytes",schemaPath:"#/properties/tasks/properties/max_output_bytes/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1024},message:"must be >= 1024"};
if(vErrors === null){
vErrors = [err34];
}
else {
vErrors.push(err34);
}
errors++;
}
}
}
if(data10.retry !== undefined){
let data16 = data10.retry;
if(data16 && typeof data16 == "object" && !Array.isArray(data16)){
for(const key4 in data16){
if(!(((key4 === "base_ms") || (key4 === "factor")) || (key4 === "max_ms"))){
const err35 = {instancePath:instancePath+"/tasks/retry",schemaPath:"#/properties/tasks/properties/retry/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key4},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err35];
}
else {
vErrors.push(err35);
}
errors++;
}
}
if(data16.base_ms !== undefined){
let data17 = data16.base_ms;
if(!(((typeof data17 == "number") && (!(data17 % 1) && !isNaN(data17))) && (isFinite(data17)))){
const err36 = {instancePath:instancePath+"/tasks/retry/base_ms",schemaPath:"#/properties/tasks/properties/retry/properties/base_ms/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err36];
}
else {
vErrors.push(err36);
}
errors++;
}
if((typeof data17 == "number") && (isFinite(data17))){
if(data17 < 1 || isNaN(data17)){
const err37 = {instancePath:instancePath+"/tasks/retry/base_ms",schemaPath:"#/properties/tasks/properties/retry/properties/base_ms/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err37];
}
else {
vErrors.push(err37);
}
errors++;
}
}
}
if(data16.factor !== undefined){
let data18 = data16.factor;
if((typeof data18 == "number") && (isFinite(data18))){
if(data18 < 1 || isNaN(data18)){
const err38 = {instancePath:instancePath+"/tasks/retry/factor",schemaPath:"#/properties/tasks/properties/retry/properties/factor/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err38];
}
else {
vErrors.push(err38);
}
errors++;
}
}
else {
const err39 = {instancePath:instancePath+"/tasks/retry/factor",schemaPath:"#/properties/tasks/properties/retry/properties/factor/type",keyword:"type",params:{type: "number"},message:"must be number"};
if(vErrors === null){
vErrors = [err39];
}
else {
vErrors.push(err39);
}
errors++;
}
}
if(data16.max_ms !== undefined){
let data19 = data16.max_ms;
if(!(((typeof data19 == "number") && (!(data19 % 1) && !isNaN(data19))) && (isFinite(data19)))){
const err40 = {instancePath:instancePath+"/tasks/retry/max_ms",schemaPath:"#/properties/tasks/properties/retry/properties/max_ms/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err40];
}
else {
vErrors.push(err40);
}
errors++;
}
if((typeof data19 == "number") && (isFinite(data19))){
if(data19 < 1 || isNaN(data19)){
const err41 = {instancePath:instancePath+"/tasks/retry/max_ms",schemaPath:"#/properties/tasks/properties/retry/properties/max_ms/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err41];
}
else {
vErrors.push(err41);
}
errors++;
}
}
}
}
else {
const err42 = {instancePath:instancePath+"/tasks/retry",schemaPath:"#/properties/tasks/properties/retry/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err42];
}
else {
vErrors.push(err42);
}
errors++;
}
}
}
else {
const err43 = {instancePath:instancePath+"/tasks",schemaPath:"#/properties/tasks/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err43];
}
else {
vErrors.push(err43);
}
errors++;
}
}
if(data.daemon !== undefined){
let data20 = data.daemon;
if(data20 && typeof data20 == "object" && !Array.isArray(data20)){
for(const key5 in data20){
if(!((key5 === "idle_timeout_seconds") || (key5 === "shared_buffers_mb"))){
const err44 = {instancePath:instancePath+"/daemon",schemaPath:"#/properties/daemon/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key5},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err44];
}
else {
vErrors.push(err44);
}
errors++;
}
}
if(data20.idle_timeout_seconds !== undefined){
let data21 = data20.idle_timeout_seconds;
if(!(((typeof data21 == "number") && (!(data21 % 1) && !isNaN(data21))) && (isFinite(data21)))){
const err45 = {instancePath:instancePath+"/daemon/idle_timeout_seconds",schemaPath:"#/properties/daemon/properties/idle_timeout_seconds/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err45];
}
else {
vErrors.push(err45);
}
errors++;
}
if((typeof data21 == "number") && (isFinite(data21))){
if(data21 < 1 || isNaN(data21)){
const err46 = {instancePath:instancePath+"/daemon/idle_timeout_seconds",schemaPath:"#/properties/daemon/properties/idle_timeout_seconds/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err46];
}
else {
vErrors.push(err46);
}
errors++;
}
}
}
if(data20.shared_buffers_mb !== undefined){
let data22 = data20.shared_buffers_mb;
if(!(((typeof data22 == "number") && (!(data22 % 1) && !isNaN(data22))) && (isFinite(data22)))){
const err47 = {instancePath:instancePath+"/daemon/shared_buffers_mb",schemaPath:"#/properties/daemon/properties/shared_buffers_mb/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err47];
}
else {
vErrors.push(err47);
}
errors++;
}
if((typeof data22 == "number") && (isFinite(data22))){
if(data22 > 1024 || isNaN(data22)){
const err48 = {instancePath:instancePath+"/daemon/shared_buffers_mb",schemaPath:"#/properties/daemon/properties/shared_buffers_mb/maximum",keyword:"maximum",params:{comparison: "<=", limit: 1024},message:"must be <= 1024"};
if(vErrors === null){
vErrors = [err48];
}
else {
vErrors.push(err48);
}
errors++;
}
if(data22 < 1 || isNaN(data22)){
const err49 = {instancePath:instancePath+"/daemon/shared_buffers_mb",schemaPath:"#/properties/daemon/properties/shared_buffers_mb/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err49];
}
else {
vErrors.push(err49);
}
errors++;
}
}
}
}
else {
const err50 = {instancePath:instancePath+"/daemon",schemaPath:"#/properties/daemon/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err50];
}
else {
vErrors.push(err50);
}
errors++;
}
}
if(data.notifications !== undefined){
let data23 = data.notifications;
if(data23 && typeof data23 == "object" && !Array.isArray(data23)){
for(const key6 in data23){
if(!((key6 === "notifiers") || (key6 === "routes"))){
const err51 = {instancePath:instancePath+"/notifications",schemaPath:"#/properties/notifications/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key6},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err51];
}
else {
vErrors.push(err51);
}
errors++;
}
}
if(data23.notifiers !== undefined){
let data24 = data23.notifiers;
if(Array.isArray(data24)){
if(data24.length > 100){
const err52 = {instancePath:instancePath+"/notifications/notifiers",schemaPath:"#/properties/notifications/properties/notifiers/maxItems",keyword:"maxItems",params:{limit: 100},message:"must NOT have more than 100 items"};
if(vErrors === null){
vErrors = [err52];
}
else {
vErrors.push(err52);
}
errors++;
}
const len0 = data24.length;
for(let i0=0; i0<len0; i0++){
let data25 = data24[i0];
const _errs58 = errors;
let valid9 = true;
const _errs59 = errors;
if(data25 && typeof data25 == "object" && !Array.isArray(data25)){
if(data25.type !== undefined){
let data26 = data25.type;
if(!((data26 === "console") || (data26 === "webhook"))){
const err53 = {};
if(vErrors === null){
vErrors = [err53];
}
else {
vErrors.push(err53);
}
errors++;
}
}
}
var _valid0 = _errs59 === errors;
errors = _errs58;
if(vErrors !== null){
if(_errs58){
vErrors.length = _errs58;
}
else {
vErrors = null;
}
}
if(_valid0){
const _errs61 = errors;
const _errs62 = errors;
let valid11 = true;
const _errs63 = errors;
if(data25 && typeof data25 == "object" && !Array.isArray(data25)){
if(data25.type !== undefined){
if("webhook" !== data25.type){
const err54 = {};
if(vErrors === null){
vErrors = [err54];
}
else {
vErrors.push(err54);
}
errors++;
}
}
}
var _valid1 = _errs63 === errors;
errors = _errs62;
if(vErrors !== null){
if(_errs62){
vErrors.length = _errs62;
}
else {
vErrors = null;
}
}
let ifClause0;
if(_valid1){
const _errs65 = errors;
if(data25 && typeof data25 == "object" && !Array.isArray(data25)){
if(data25.url === undefined){
const err55 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/then/then/required",keyword:"required",params:{missingProperty: "url"},message:"must have required property '"+"url"+"'"};
if(vErrors === null){
vErrors = [err55];
}
else {
vErrors.push(err55);
}
errors++;
}
if(data25.secret === undefined){
const err56 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/then/then/required",keyword:"required",params:{missingProperty: "secret"},message:"must have required property '"+"secret"+"'"};
if(vErrors === null){
vErrors = [err56];
}
else {
vErrors.push(err56);
}
errors++;
}
}
var _valid1 = _errs65 === errors;
valid11 = _valid1;
ifClause0 = "then";
}
else {
const _errs66 = errors;
if(data25 && typeof data25 == "object" && !Array.isArray(data25)){
if(data25.url !== undefined){
const err57 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/url",schemaPath:"#/properties/notifications/properties/notifiers/items/then/else/properties/url/false schema",keyword:"false schema",params:{},message:"boolean schema is false"};
if(vErrors === null){
vErrors = [err57];
}
else {
vErrors.push(err57);
}
errors++;
}
if(data25.secret !== undefined){
const err58 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/secret",schemaPath:"#/properties/notifications/properties/notifiers/items/then/else/properties/secret/false schema",keyword:"false schema",params:{},message:"boolean schema is false"};
if(vErrors === null){
vErrors = [err58];
}
else {
vErrors.push(err58);
}
errors++;
}
if(data25.timeout_ms !== undefined){
const err59 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/timeout_ms",schemaPath:"#/properties/notifications/properties/notifiers/items/then/else/properties/timeout_ms/false schema",keyword:"false schema",params:{},message:"boolean schema is false"};
if(vErrors === null){
vErrors = [err59];
}
else {
vErrors.push(err59);
}
errors++;
}
if(data25.retries !== undefined){
const err60 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/retries",schemaPath:"#/properties/notifications/properties/notifiers/items/then/else/properties/retries/false schema",keyword:"false schema",params:{},message:"boolean schema is false"};
if(vErrors === null){
vErrors = [err60];
}
else {
vErrors.push(err60);
}
errors++;
}
}
var _valid1 = _errs66 === errors;
valid11 = _valid1;
ifClause0 = "else";
}
if(!valid11){
const err61 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/then/if",keyword:"if",params:{failingKeyword: ifClause0},message:"must match \""+ifClause0+"\" schema"};
if(vErrors === null){
vErrors = [err61];
}
else {
vErrors.push(err61);
}
errors++;
}
if(data25 && typeof data25 == "object" && !Array.isArray(data25)){
for(const key7 in data25){
if(!((((((key7 === "name") || (key7 === "type")) || (key7 === "url")) || (key7 === "secret")) || (key7 === "timeout_ms")) || (key7 === "retries"))){
const err62 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/then/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key7},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err62];
}
else {
vErrors.push(err62);
}
errors++;
}
}
if(data25.url !== undefined){
let data32 = data25.url;
if(typeof data32 === "string"){
if(!pattern5.test(data32)){
const err63 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/url",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/url/pattern",keyword:"pattern",params:{pattern: "^https?://[^\\s]+$"},message:"must match pattern \""+"^https?://[^\\s]+$"+"\""};
if(vErrors === null){
vErrors = [err63];
}
else {
vErrors.push(err63);
}
errors++;
}
}
else {
const err64 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/url",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/url/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err64];
}
else {
vErrors.push(err64);
}
errors++;
}
}
if(data25.secret !== undefined){
let data33 = data25.secret;
if(typeof data33 === "string"){
if(func3(data33) < 1){
const err65 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/secret",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/secret/minLength",keyword:"minLength",params:{limit: 1},message:"must NOT have fewer than 1 characters"};
if(vErrors === null){
vErrors = [err65];
}
else {
vErrors.push(err65);
}
errors++;
}
}
else {
const err66 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/secret",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/secret/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err66];
}
else {
vErrors.push(err66);
}
errors++;
}
}
if(data25.timeout_ms !== undefined){
let data34 = data25.timeout_ms;
if(!(((typeof data34 == "number") && (!(data34 % 1) && !isNaN(data34))) && (isFinite(data34)))){
const err67 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/timeout_ms",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/timeout_ms/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err67];
}
else {
vErrors.push(err67);
}
errors++;
}
if((typeof data34 == "number") && (isFinite(data34))){
if(data34 > 120000 || isNaN(data34)){
const err68 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/timeout_ms",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/timeout_ms/maximum",keyword:"maximum",params:{comparison: "<=", limit: 120000},message:"must be <= 120000"};
if(vErrors === null){
vErrors = [err68];
}
else {
vErrors.push(err68);
}
errors++;
}
if(data34 < 100 || isNaN(data34)){
const err69 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/timeout_ms",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/timeout_ms/minimum",keyword:"minimum",params:{comparison: ">=", limit: 100},message:"must be >= 100"};
if(vErrors === null){
vErrors = [err69];
}
else {
vErrors.push(err69);
}
errors++;
}
}
}
if(data25.retries !== undefined){
let data35 = data25.retries;
if(!(((typeof data35 == "number") && (!(data35 % 1) && !isNaN(data35))) && (isFinite(data35)))){
const err70 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/retries",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/retries/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err70];
}
else {
vErrors.push(err70);
}
errors++;
}
if((typeof data35 == "number") && (isFinite(data35))){
if(data35 > 20 || isNaN(data35)){
const err71 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/retries",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/retries/maximum",keyword:"maximum",params:{comparison: "<=", limit: 20},message:"must be <= 20"};
if(vErrors === null){
vErrors = [err71];
}
else {
vErrors.push(err71);
}
errors++;
}
if(data35 < 0 || isNaN(data35)){
const err72 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/retries",schemaPath:"#/properties/notifications/properties/notifiers/items/then/properties/retries/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0"};
if(vErrors === null){
vErrors = [err72];
}
else {
vErrors.push(err72);
}
errors++;
}
}
}
}
var _valid0 = _errs61 === errors;
valid9 = _valid0;
}
if(!valid9){
const err73 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/if",keyword:"if",params:{failingKeyword: "then"},message:"must match \"then\" schema"};
if(vErrors === null){
vErrors = [err73];
}
else {
vErrors.push(err73);
}
errors++;
}
if(data25 && typeof data25 == "object" && !Array.isArray(data25)){
if(Object.keys(data25).length > 64){
const err74 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/maxProperties",keyword:"maxProperties",params:{limit: 64},message:"must NOT have more than 64 properties"};
if(vErrors === null){
vErrors = [err74];
}
else {
vErrors.push(err74);
}
errors++;
}
if(data25.name === undefined){
const err75 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/required",keyword:"required",params:{missingProperty: "name"},message:"must have required property '"+"name"+"'"};
if(vErrors === null){
vErrors = [err75];
}
else {
vErrors.push(err75);
}
errors++;
}
if(data25.type === undefined){
const err76 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/required",keyword:"required",params:{missingProperty: "type"},message:"must have required property '"+"type"+"'"};
if(vErrors === null){
vErrors = [err76];
}
else {
vErrors.push(err76);
}
errors++;
}
if(data25.name !== undefined){
let data36 = data25.name;
if(typeof data36 === "string"){
if(!pattern6.test(data36)){
const err77 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/name",schemaPath:"#/properties/notifications/properties/notifiers/items/properties/name/pattern",keyword:"pattern",params:{pattern: "^[a-z0-9][a-z0-9_-]{0,63}$"},message:"must match pattern \""+"^[a-z0-9][a-z0-9_-]{0,63}$"+"\""};
if(vErrors === null){
vErrors = [err77];
}
else {
vErrors.push(err77);
}
errors++;
}
}
else {
const err78 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/name",schemaPath:"#/properties/notifications/properties/notifiers/items/properties/name/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err78];
}
else {
vErrors.push(err78);
}
errors++;
}
}
if(data25.type !== undefined){
let data37 = data25.type;
const _errs79 = errors;
let valid16 = false;
const _errs80 = errors;
if(!((data37 === "console") || (data37 === "webhook"))){
const err79 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/type",schemaPath:"#/properties/notifications/properties/notifiers/items/properties/type/anyOf/0/enum",keyword:"enum",params:{allowedValues: schema11.properties.notifications.properties.notifiers.items.properties.type.anyOf[0].enum},message:"must be equal to one of the allowed values"};
if(vErrors === null){
vErrors = [err79];
}
else {
vErrors.push(err79);
}
errors++;
}
var _valid2 = _errs80 === errors;
valid16 = valid16 || _valid2;
if(!valid16){
const _errs81 = errors;
if(typeof data37 === "string"){
if(!pattern7.test(data37)){
const err80 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/type",schemaPath:"#/properties/notifications/properties/notifiers/items/properties/type/anyOf/1/pattern",keyword:"pattern",params:{pattern: "^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$"},message:"must match pattern \""+"^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$"+"\""};
if(vErrors === null){
vErrors = [err80];
}
else {
vErrors.push(err80);
}
errors++;
}
}
else {
const err81 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/type",schemaPath:"#/properties/notifications/properties/notifiers/items/properties/type/anyOf/1/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err81];
}
else {
vErrors.push(err81);
}
errors++;
}
var _valid2 = _errs81 === errors;
valid16 = valid16 || _valid2;
}
if(!valid16){
const err82 = {instancePath:instancePath+"/notifications/notifiers/" + i0+"/type",schemaPath:"#/properties/notifications/properties/notifiers/items/properties/type/anyOf",keyword:"anyOf",params:{},message:"must match a schema in anyOf"};
if(vErrors === null){
vErrors = [err82];
}
else {
vErrors.push(err82);
}
errors++;
}
else {
errors = _errs79;
if(vErrors !== null){
if(_errs79){
vErrors.length = _errs79;
}
else {
vErrors = null;
}
}
}
}
}
else {
const err83 = {instancePath:instancePath+"/notifications/notifiers/" + i0,schemaPath:"#/properties/notifications/properties/notifiers/items/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err83];
}
else {
vErrors.push(err83);
}
errors++;
}
}
}
else {
const err84 = {instancePath:instancePath+"/notifications/notifiers",schemaPath:"#/properties/notifications/properties/notifiers/type",keyword:"type",params:{type: "array"},message:"must be array"};
if(vErrors === null){
vErrors = [err84];
}
else {
vErrors.push(err84);
}
errors++;
}
}
if(data23.routes !== undefined){
let data38 = data23.routes;
if(Array.isArray(data38)){
const len1 = data38.length;
for(let i1=0; i1<len1; i1++){
let data39 = data38[i1];
if(data39 && typeof data39 == "object" && !Array.isArray(data39)){
if(data39.notifier === undefined){
const err85 = {instancePath:instancePath+"/notifications/routes/" + i1,schemaPath:"#/properties/notifications/properties/routes/items/required",keyword:"required",params:{missingProperty: "notifier"},message:"must have required property '"+"notifier"+"'"};
if(vErrors === null){
vErrors = [err85];
}
else {
vErrors.push(err85);
}
errors++;
}
if(data39.events === undefined){
const err86 = {instancePath:instancePath+"/notifications/routes/" + i1,schemaPath:"#/properties/notifications/properties/routes/items/required",keyword:"required",params:{missingProperty: "events"},message:"must have required property '"+"events"+"'"};
if(vErrors === null){
vErrors = [err86];
}
else {
vErrors.push(err86);
}
errors++;
}
for(const key8 in data39){
if(!((key8 === "notifier") || (key8 === "events"))){
const err87 = {instancePath:instancePath+"/notifications/routes/" + i1,schemaPath:"#/properties/notifications/properties/routes/items/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key8},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err87];
}
else {
vErrors.push(err87);
}
errors++;
}
}
if(data39.notifier !== undefined){
let data40 = data39.notifier;
if(typeof data40 === "string"){
if(func3(data40) < 1){
const err88 = {instancePath:instancePath+"/notifications/routes/" + i1+"/notifier",schemaPath:"#/properties/notifications/properties/routes/items/properties/notifier/minLength",keyword:"minLength",params:{limit: 1},message:"must NOT have fewer than 1 characters"};
if(vErrors === null){
vErrors = [err88];
}
else {
vErrors.push(err88);
}
errors++;
}
}
else {
const err89 = {instancePath:instancePath+"/notifications/routes/" + i1+"/notifier",schemaPath:"#/properties/notifications/properties/routes/items/properties/notifier/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err89];
}
else {
vErrors.push(err89);
}
errors++;
}
}
if(data39.events !== undefined){
let data41 = data39.events;
if(Array.isArray(data41)){
if(data41.length < 1){
const err90 = {instancePath:instancePath+"/notifications/routes/" + i1+"/events",schemaPath:"#/properties/notifications/properties/routes/items/properties/events/minItems",keyword:"minItems",params:{limit: 1},message:"must NOT have fewer than 1 items"};
if(vErrors === null){
vErrors = [err90];
}
else {
vErrors.push(err90);
}
errors++;
}
const len2 = data41.length;
for(let i2=0; i2<len2; i2++){
let data42 = data41[i2];
if(typeof data42 === "string"){
if(!pattern8.test(data42)){
const err91 = {instancePath:instancePath+"/notifications/routes/" + i1+"/events/" + i2,schemaPath:"#/properties/notifications/properties/routes/items/properties/events/items/pattern",keyword:"pattern",params:{pattern: "^(\\*|[a-z_]+\\.\\*|[a-z_]+\\.[a-z_]+)$"},message:"must match pattern \""+"^(\\*|[a-z_]+\\.\\*|[a-z_]+\\.[a-z_]+)$"+"\""};
if(vErrors === null){
vErrors = [err91];
}
else {
vErrors.push(err91);
}
errors++;
}
}
else {
const err92 = {instancePath:instancePath+"/notifications/routes/" + i1+"/events/" + i2,schemaPath:"#/properties/notifications/properties/routes/items/properties/events/items/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err92];
}
else {
vErrors.push(err92);
}
errors++;
}
}
}
else {
const err93 = {instancePath:instancePath+"/notifications/routes/" + i1+"/events",schemaPath:"#/properties/notifications/properties/routes/items/properties/events/type",keyword:"type",params:{type: "array"},message:"must be array"};
if(vErrors === null){
vErrors = [err93];
}
else {
vErrors.push(err93);
}
errors++;
}
}
}
else {
const err94 = {instancePath:instancePath+"/notifications/routes/" + i1,schemaPath:"#/properties/notifications/properties/routes/items/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err94];
}
else {
vErrors.push(err94);
}
errors++;
}
}
}
else {
const err95 = {instancePath:instancePath+"/notifications/routes",schemaPath:"#/properties/notifications/properties/routes/type",keyword:"type",params:{type: "array"},message:"must be array"};
if(vErrors === null){
vErrors = [err95];
}
else {
vErrors.push(err95);
}
errors++;
}
}
}
else {
const err96 = {instancePath:instancePath+"/notifications",schemaPath:"#/properties/notifications/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err96];
}
else {
vErrors.push(err96);
}
errors++;
}
}
if(data.plugins !== undefined){
let data43 = data.plugins;
if(data43 && typeof data43 == "object" && !Array.isArray(data43)){
for(const key9 in data43){
if(!((key9 === "paths") || (key9 === "trust"))){
const err97 = {instancePath:instancePath+"/plugins",schemaPath:"#/properties/plugins/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key9},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err97];
}
else {
vErrors.push(err97);
}
errors++;
}
}
if(data43.paths !== undefined){
let data44 = data43.paths;
if(Array.isArray(data44)){
if(data44.length > 100){
const err98 = {instancePath:instancePath+"/plugins/paths",schemaPath:"#/properties/plugins/properties/paths/maxItems",keyword:"maxItems",params:{limit: 100},message:"must NOT have more than 100 items"};
if(vErrors === null){
vErrors = [err98];
}
else {
vErrors.push(err98);
}
errors++;
}
const len3 = data44.length;
for(let i3=0; i3<len3; i3++){
let data45 = data44[i3];
if(typeof data45 === "string"){
if(func3(data45) > 1024){
const err99 = {instancePath:instancePath+"/plugins/paths/" + i3,schemaPath:"#/properties/plugins/properties/paths/items/maxLength",keyword:"maxLength",params:{limit: 1024},message:"must NOT have more than 1024 characters"};
if(vErrors === null){
vErrors = [err99];
}
else {
vErrors.push(err99);
}
errors++;
}
if(func3(data45) < 1){
const err100 = {instancePath:instancePath+"/plugins/paths/" + i3,schemaPath:"#/properties/plugins/properties/paths/items/minLength",keyword:"minLength",params:{limit: 1},message:"must NOT have fewer than 1 characters"};
if(vErrors === null){
vErrors = [err100];
}
else {
vErrors.push(err100);
}
errors++;
}
}
else {
const err101 = {instancePath:instancePath+"/plugins/paths/" + i3,schemaPath:"#/properties/plugins/properties/paths/items/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err101];
}
else {
vErrors.push(err101);
}
errors++;
}
}
}
else {
const err102 = {instancePath:instancePath+"/plugins/paths",schemaPath:"#/properties/plugins/properties/paths/type",keyword:"type",params:{type: "array"},message:"must be array"};
if(vErrors === null){
vErrors = [err102];
}
else {
vErrors.push(err102);
}
errors++;
}
}
if(data43.trust !== undefined){
let data46 = data43.trust;
if(Array.isArray(data46)){
if(data46.length > 100){
const err103 = {instancePath:instancePath+"/plugins/trust",schemaPath:"#/properties/plugins/properties/trust/maxItems",keyword:"maxItems",params:{limit: 100},message:"must NOT have more than 100 items"};
if(vErrors === null){
vErrors = [err103];
}
else {
vErrors.push(err103);
}
errors++;
}
const len4 = data46.length;
for(let i4=0; i4<len4; i4++){
let data47 = data46[i4];
if(typeof data47 === "string"){
if(!pattern9.test(data47)){
const err104 = {instancePath:instancePath+"/plugins/trust/" + i4,schemaPath:"#/properties/plugins/properties/trust/items/pattern",keyword:"pattern",params:{pattern: "^[a-z][a-z0-9-]{0,63}$"},message:"must match pattern \""+"^[a-z][a-z0-9-]{0,63}$"+"\""};
if(vErrors === null){
vErrors = [err104];
}
else {
vErrors.push(err104);
}
errors++;
}
}
else {
const err105 = {instancePath:instancePath+"/plugins/trust/" + i4,schemaPath:"#/properties/plugins/properties/trust/items/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err105];
}
else {
vErrors.push(err105);
}
errors++;
}
}
let i5 = data46.length;
let j0;
if(i5 > 1){
const indices0 = {};
for(;i5--;){
let item0 = data46[i5];
if(typeof item0 !== "string"){
continue;
}
if(typeof indices0[item0] == "number"){
j0 = indices0[item0];
const err106 = {instancePath:instancePath+"/plugins/trust",schemaPath:"#/properties/plugins/properties/trust/uniqueItems",keyword:"uniqueItems",params:{i: i5, j: j0},message:"must NOT have duplicate items (items ## "+j0+" and "+i5+" are identical)"};
if(vErrors === null){
vErrors = [err106];
}
else {
vErrors.push(err106);
}
errors++;
break;
}
indices0[item0] = i5;
}
}
}
else {
const err107 = {instancePath:instancePath+"/plugins/trust",schemaPath:"#/properties/plugins/properties/trust/type",keyword:"type",params:{type: "array"},message:"must be array"};
if(vErrors === null){
vErrors = [err107];
}
else {
vErrors.push(err107);
}
errors++;
}
}
}
else {
const err108 = {instancePath:instancePath+"/plugins",schemaPath:"#/properties/plugins/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err108];
}
else {
vErrors.push(err108);
}
errors++;
}
}
if(data.orchestration !== undefined){
let data48 = data.orchestration;
if(data48 && typeof data48 == "object" && !Array.isArray(data48)){
for(const key10 in data48){
if(!((((((key10 === "tick_seconds") || (key10 === "stuck_after_seconds")) || (key10 === "max_lease_expiries")) || (key10 === "agent_idle_after_seconds")) || (key10 === "agent_gone_after_seconds")) || (key10 === "runner_options"))){
const err109 = {instancePath:instancePath+"/orchestration",schemaPath:"#/properties/orchestration/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key10},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err109];
}
else {
vErrors.push(err109);
}
errors++;
}
}
if(data48.tick_seconds !== undefined){
let data49 = data48.tick_seconds;
if(!(((typeof data49 == "number") && (!(data49 % 1) && !isNaN(data49))) && (isFinite(data49)))){
const err110 = {instancePath:instancePath+"/orchestration/tick_seconds",schemaPath:"#/properties/orchestration/properties/tick_seconds/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err110];
}
else {
vErrors.push(err110);
}
errors++;
}
if((typeof data49 == "number") && (isFinite(data49))){
if(data49 < 1 || isNaN(data49)){
const err111 = {instancePath:instancePath+"/orchestration/tick_seconds",schemaPath:"#/properties/orchestration/properties/tick_seconds/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err111];
}
else {
vErrors.push(err111);
}
errors++;
}
}
}
if(data48.stuck_after_seconds !== undefined){
let data50 = data48.stuck_after_seconds;
if(!(((typeof data50 == "number") && (!(data50 % 1) && !isNaN(data50))) && (isFinite(data50)))){
const err112 = {instancePath:instancePath+"/orchestration/stuck_after_seconds",schemaPath:"#/properties/orchestration/properties/stuck_after_seconds/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err112];
}
else {
vErrors.push(err112);
}
errors++;
}
if((typeof data50 == "number") && (isFinite(data50))){
if(data50 < 1 || isNaN(data50)){
const err113 = {instancePath:instancePath+"/orchestration/stuck_after_seconds",schemaPath:"#/properties/orchestration/properties/stuck_after_seconds/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err113];
}
else {
vErrors.push(err113);
}
errors++;
}
}
}
if(data48.max_lease_expiries !== undefined){
let data51 = data48.max_lease_expiries;
if(!(((typeof data51 == "number") && (!(data51 % 1) && !isNaN(data51))) && (isFinite(data51)))){
const err114 = {instancePath:instancePath+"/orchestration/max_lease_expiries",schemaPath:"#/properties/orchestration/properties/max_lease_expiries/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err114];
}
else {
vErrors.push(err114);
}
errors++;
}
if((typeof data51 == "number") && (isFinite(data51))){
if(data51 < 1 || isNaN(data51)){
const err115 = {instancePath:instancePath+"/orchestration/max_lease_expiries",schemaPath:"#/properties/orchestration/properties/max_lease_expiries/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err115];
}
else {
vErrors.push(err115);
}
errors++;
}
}
}
if(data48.agent_idle_after_seconds !== undefined){
let data52 = data48.agent_idle_after_seconds;
if(!(((typeof data52 == "number") && (!(data52 % 1) && !isNaN(data52))) && (isFinite(data52)))){
const err116 = {instancePath:instancePath+"/orchestration/agent_idle_after_seconds",schemaPath:"#/properties/orchestration/properties/agent_idle_after_seconds/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err116];
}
else {
vErrors.push(err116);
}
errors++;
}
if((typeof data52 == "number") && (isFinite(data52))){
if(data52 < 1 || isNaN(data52)){
const err117 = {instancePath:instancePath+"/orchestration/agent_idle_after_seconds",schemaPath:"#/properties/orchestration/properties/agent_idle_after_seconds/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err117];
}
else {
vErrors.push(err117);
}
errors++;
}
}
}
if(data48.agent_gone_after_seconds !== undefined){
let data53 = data48.agent_gone_after_seconds;
if(!(((typeof data53 == "number") && (!(data53 % 1) && !isNaN(data53))) && (isFinite(data53)))){
const err118 = {instancePath:instancePath+"/orchestration/agent_gone_after_seconds",schemaPath:"#/properties/orchestration/properties/agent_gone_after_seconds/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err118];
}
else {
vErrors.push(err118);
}
errors++;
}
if((typeof data53 == "number") && (isFinite(data53))){
if(data53 < 1 || isNaN(data53)){
const err119 = {instancePath:instancePath+"/orchestration/agent_gone_after_seconds",schemaPath:"#/properties/orchestration/properties/agent_gone_after_seconds/minimum",keyword:"minimum",params:{comparison: ">=", limit: 1},message:"must be >= 1"};
if(vErrors === null){
vErrors = [err119];
}
else {
vErrors.push(err119);
}
errors++;
}
}
}
if(data48.runner_options !== undefined){
let data54 = data48.runner_options;
if(data54 && typeof data54 == "object" && !Array.isArray(data54)){
if(Object.keys(data54).length > 100){
const err120 = {instancePath:instancePath+"/orchestration/runner_options",schemaPath:"#/properties/orchestration/properties/runner_options/maxProperties",keyword:"maxProperties",params:{limit: 100},message:"must NOT have more than 100 properties"};
if(vErrors === null){
vErrors = [err120];
}
else {
vErrors.push(err120);
}
errors++;
}
for(const key11 in data54){
const _errs120 = errors;
if(typeof key11 === "string"){
if(!pattern7.test(key11)){
const err121 = {instancePath:instancePath+"/orchestration/runner_options",schemaPath:"#/properties/orchestration/properties/runner_options/propertyNames/pattern",keyword:"pattern",params:{pattern: "^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$"},message:"must match pattern \""+"^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$"+"\"",propertyName:key11};
if(vErrors === null){
vErrors = [err121];
}
else {
vErrors.push(err121);
}
errors++;
}
}
var valid29 = _errs120 === errors;
if(!valid29){
const err122 = {instancePath:instancePath+"/orchestration/runner_options",schemaPath:"#/properties/orchestration/properties/runner_options/propertyNames",keyword:"propertyNames",params:{propertyName: key11},message:"property name must be valid"};
if(vErrors === null){
vErrors = [err122];
}
else {
vErrors.push(err122);
}
errors++;
}
}
for(const key12 in data54){
let data55 = data54[key12];
if(!(data55 && typeof data55 == "object" && !Array.isArray(data55))){
const err123 = {instancePath:instancePath+"/orchestration/runner_options/" + key12.replace(/~/g, "~0").replace(/\//g, "~1"),schemaPath:"#/properties/orchestration/properties/runner_options/additionalProperties/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err123];
}
else {
vErrors.push(err123);
}
errors++;
}
}
}
else {
const err124 = {instancePath:instancePath+"/orchestration/runner_options",schemaPath:"#/properties/orchestration/properties/runner_options/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err124];
}
else {
vErrors.push(err124);
}
errors++;
}
}
}
else {
const err125 = {instancePath:instancePath+"/orchestration",schemaPath:"#/properties/orchestration/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err125];
}
else {
vErrors.push(err125);
}
errors++;
}
}
if(data.mcp !== undefined){
let data56 = data.mcp;
if(data56 && typeof data56 == "object" && !Array.isArray(data56)){
for(const key13 in data56){
if(!(key13 === "tools")){
const err126 = {instancePath:instancePath+"/mcp",schemaPath:"#/properties/mcp/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key13},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err126];
}
else {
vErrors.push(err126);
}
errors++;
}
}
if(data56.tools !== undefined){
let data57 = data56.tools;
if(Array.isArray(data57)){
if(data57.length < 1){
const err127 = {instancePath:instancePath+"/mcp/tools",schemaPath:"#/properties/mcp/properties/tools/minItems",keyword:"minItems",params:{limit: 1},message:"must NOT have fewer than 1 items"};
if(vErrors === null){
vErrors = [err127];
}
else {
vErrors.push(err127);
}
errors++;
}
const len5 = data57.length;
for(let i6=0; i6<len5; i6++){
let data58 = data57[i6];
if(!(((data58 === "core") || (data58 === "planning")) || (data58 === "admin"))){
const err128 = {instancePath:instancePath+"/mcp/tools/" + i6,schemaPath:"#/properties/mcp/properties/tools/items/enum",keyword:"enum",params:{allowedValues: schema11.properties.mcp.properties.tools.items.enum},message:"must be equal to one of the allowed values"};
if(vErrors === null){
vErrors = [err128];
}
else {
vErrors.push(err128);
}
errors++;
}
}
let i7 = data57.length;
let j1;
if(i7 > 1){
outer0:
for(;i7--;){
for(j1 = i7; j1--;){
if(func0(data57[i7], data57[j1])){
const err129 = {instancePath:instancePath+"/mcp/tools",schemaPath:"#/properties/mcp/properties/tools/uniqueItems",keyword:"uniqueItems",params:{i: i7, j: j1},message:"must NOT have duplicate items (items ## "+j1+" and "+i7+" are identical)"};
if(vErrors === null){
vErrors = [err129];
}
else {
vErrors.push(err129);
}
errors++;
break outer0;
}
}
}
}
}
else {
const err130 = {instancePath:instancePath+"/mcp/tools",schemaPath:"#/properties/mcp/properties/tools/type",keyword:"type",params:{type: "array"},message:"must be array"};
if(vErrors === null){
vErrors = [err130];
}
else {
vErrors.push(err130);
}
errors++;
}
}
}
else {
const err131 = {instancePath:instancePath+"/mcp",schemaPath:"#/properties/mcp/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err131];
}
else {
vErrors.push(err131);
}
errors++;
}
}
if(data.serve !== undefined){
let data59 = data.serve;
if(data59 && typeof data59 == "object" && !Array.isArray(data59)){
for(const key14 in data59){
if(!((((key14 === "token") || (key14 === "tokens")) || (key14 === "host")) || (key14 === "port"))){
const err132 = {instancePath:instancePath+"/serve",schemaPath:"#/properties/serve/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key14},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err132];
}
else {
vErrors.push(err132);
}
errors++;
}
}
if(data59.token !== undefined){
let data60 = data59.token;
if(typeof data60 === "string"){
if(!pattern11.test(data60)){
const err133 = {instancePath:instancePath+"/serve/token",schemaPath:"#/properties/serve/properties/token/pattern",keyword:"pattern",params:{pattern: "^[!-~]{16,512}$"},message:"must match pattern \""+"^[!-~]{16,512}$"+"\""};
if(vErrors === null){
vErrors = [err133];
}
else {
vErrors.push(err133);
}
errors++;
}
}
else {
const err134 = {instancePath:instancePath+"/serve/token",schemaPath:"#/properties/serve/properties/token/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err134];
}
else {
vErrors.push(err134);
}
errors++;
}
}
if(data59.tokens !== undefined){
let data61 = data59.tokens;
if(Array.isArray(data61)){
if(data61.length > 1000){
const err135 = {instancePath:instancePath+"/serve/tokens",schemaPath:"#/properties/serve/properties/tokens/maxItems",keyword:"maxItems",params:{limit: 1000},message:"must NOT have more than 1000 items"};
if(vErrors === null){
vErrors = [err135];
}
else {
vErrors.push(err135);
}
errors++;
}
const len6 = data61.length;
for(let i8=0; i8<len6; i8++){
let data62 = data61[i8];
if(data62 && typeof data62 == "object" && !Array.isArray(data62)){
if(data62.name === undefined){
const err136 = {instancePath:instancePath+"/serve/tokens/" + i8,schemaPath:"#/properties/serve/properties/tokens/items/required",keyword:"required",params:{missingProperty: "name"},message:"must have required property '"+"name"+"'"};
if(vErrors === null){
vErrors = [err136];
}
else {
vErrors.push(err136);
}
errors++;
}
if(data62.sha256 === undefined){
const err137 = {instancePath:instancePath+"/serve/tokens/" + i8,schemaPath:"#/properties/serve/properties/tokens/items/required",keyword:"required",params:{missingProperty: "sha256"},message:"must have required property '"+"sha256"+"'"};
if(vErrors === null){
vErrors = [err137];
}
else {
vErrors.push(err137);
}
errors++;
}
for(const key15 in data62){
if(!((key15 === "name") || (key15 === "sha256"))){
const err138 = {instancePath:instancePath+"/serve/tokens/" + i8,schemaPath:"#/properties/serve/properties/tokens/items/additionalProperties",keyword:"additionalProperties",params:{additionalProperty: key15},message:"must NOT have additional properties"};
if(vErrors === null){
vErrors = [err138];
}
else {
vErrors.push(err138);
}
errors++;
}
}
if(data62.name !== undefined){
let data63 = data62.name;
if(typeof data63 === "string"){
if(!pattern12.test(data63)){
const err139 = {instancePath:instancePath+"/serve/tokens/" + i8+"/name",schemaPath:"#/properties/serve/properties/tokens/items/properties/name/pattern",keyword:"pattern",params:{pattern: "^[a-z0-9][a-z0-9._-]{0,63}$"},message:"must match pattern \""+"^[a-z0-9][a-z0-9._-]{0,63}$"+"\""};
if(vErrors === null){
vErrors = [err139];
}
else {
vErrors.push(err139);
}
errors++;
}
}
else {
const err140 = {instancePath:instancePath+"/serve/tokens/" + i8+"/name",schemaPath:"#/properties/serve/properties/tokens/items/properties/name/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err140];
}
else {
vErrors.push(err140);
}
errors++;
}
}
if(data62.sha256 !== undefined){
let data64 = data62.sha256;
if(typeof data64 === "string"){
if(!pattern13.test(data64)){
const err141 = {instancePath:instancePath+"/serve/tokens/" + i8+"/sha256",schemaPath:"#/properties/serve/properties/tokens/items/properties/sha256/pattern",keyword:"pattern",params:{pattern: "^[0-9a-f]{64}$"},message:"must match pattern \""+"^[0-9a-f]{64}$"+"\""};
if(vErrors === null){
vErrors = [err141];
}
else {
vErrors.push(err141);
}
errors++;
}
}
else {
const err142 = {instancePath:instancePath+"/serve/tokens/" + i8+"/sha256",schemaPath:"#/properties/serve/properties/tokens/items/properties/sha256/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err142];
}
else {
vErrors.push(err142);
}
errors++;
}
}
}
else {
const err143 = {instancePath:instancePath+"/serve/tokens/" + i8,schemaPath:"#/properties/serve/properties/tokens/items/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err143];
}
else {
vErrors.push(err143);
}
errors++;
}
}
}
else {
const err144 = {instancePath:instancePath+"/serve/tokens",schemaPath:"#/properties/serve/properties/tokens/type",keyword:"type",params:{type: "array"},message:"must be array"};
if(vErrors === null){
vErrors = [err144];
}
else {
vErrors.push(err144);
}
errors++;
}
}
if(data59.host !== undefined){
let data65 = data59.host;
if(typeof data65 === "string"){
if(func3(data65) > 255){
const err145 = {instancePath:instancePath+"/serve/host",schemaPath:"#/properties/serve/properties/host/maxLength",keyword:"maxLength",params:{limit: 255},message:"must NOT have more than 255 characters"};
if(vErrors === null){
vErrors = [err145];
}
else {
vErrors.push(err145);
}
errors++;
}
if(func3(data65) < 1){
const err146 = {instancePath:instancePath+"/serve/host",schemaPath:"#/properties/serve/properties/host/minLength",keyword:"minLength",params:{limit: 1},message:"must NOT have fewer than 1 characters"};
if(vErrors === null){
vErrors = [err146];
}
else {
vErrors.push(err146);
}
errors++;
}
}
else {
const err147 = {instancePath:instancePath+"/serve/host",schemaPath:"#/properties/serve/properties/host/type",keyword:"type",params:{type: "string"},message:"must be string"};
if(vErrors === null){
vErrors = [err147];
}
else {
vErrors.push(err147);
}
errors++;
}
}
if(data59.port !== undefined){
let data66 = data59.port;
if(!(((typeof data66 == "number") && (!(data66 % 1) && !isNaN(data66))) && (isFinite(data66)))){
const err148 = {instancePath:instancePath+"/serve/port",schemaPath:"#/properties/serve/properties/port/type",keyword:"type",params:{type: "integer"},message:"must be integer"};
if(vErrors === null){
vErrors = [err148];
}
else {
vErrors.push(err148);
}
errors++;
}
if((typeof data66 == "number") && (isFinite(data66))){
if(data66 > 65535 || isNaN(data66)){
const err149 = {instancePath:instancePath+"/serve/port",schemaPath:"#/properties/serve/properties/port/maximum",keyword:"maximum",params:{comparison: "<=", limit: 65535},message:"must be <= 65535"};
if(vErrors === null){
vErrors = [err149];
}
else {
vErrors.push(err149);
}
errors++;
}
if(data66 < 0 || isNaN(data66)){
const err150 = {instancePath:instancePath+"/serve/port",schemaPath:"#/properties/serve/properties/port/minimum",keyword:"minimum",params:{comparison: ">=", limit: 0},message:"must be >= 0"};
if(vErrors === null){
vErrors = [err150];
}
else {
vErrors.push(err150);
}
errors++;
}
}
}
}
else {
const err151 = {instancePath:instancePath+"/serve",schemaPath:"#/properties/serve/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err151];
}
else {
vErrors.push(err151);
}
errors++;
}
}
}
else {
const err152 = {instancePath,schemaPath:"#/type",keyword:"type",params:{type: "object"},message:"must be object"};
if(vErrors === null){
vErrors = [err152];
}
else {
vErrors.push(err152);
}
errors++;
}
validate10.errors = vErrors;
return errors === 0;
}
