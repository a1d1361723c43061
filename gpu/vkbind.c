// See vkbind.h.
#include "vkbind.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <stdio.h>
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include "_cgo_export.h"

static void *lib;
static PFN_vkGetInstanceProcAddr gipa;
static PFN_vkEnumerateInstanceVersion enum_version;
static PFN_vkEnumerateInstanceLayerProperties enum_layers;
static PFN_vkEnumerateInstanceExtensionProperties enum_inst_exts;
static PFN_vkCreateInstance create_instance;

#ifdef _WIN32
// Windows: a bare name ("vulkan-1.dll") is looked up in System32 only, where the driver
// installs the loader, so a DLL of that name in the current or application folder is never
// picked up; a path (VILT_VULKAN_LIBRARY) is loaded as given. Paths are UTF-8.
static char lib_err[512];

static const char *win_error(const char *what) {
	DWORD code = GetLastError();
	int n = snprintf(lib_err, sizeof lib_err, "%s failed (error %lu", what, (unsigned long)code);
	if (n < 0 || (size_t)n >= sizeof lib_err - 4) return lib_err;
	char msg[256];
	DWORD m = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0,
	                         msg, sizeof msg, NULL);
	while (m > 0 && (msg[m - 1] == '\n' || msg[m - 1] == '\r' || msg[m - 1] == ' ' || msg[m - 1] == '.')) m--;
	msg[m] = 0;
	snprintf(lib_err + n, sizeof lib_err - n, m ? ": %s)" : ")", msg);
	return lib_err;
}

static void *lib_open(const char *path, const char **err) {
	wchar_t wpath[MAX_PATH * 4];
	if (!MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, sizeof wpath / sizeof wpath[0])) {
		*err = win_error("MultiByteToWideChar");
		return NULL;
	}
	int bare = strchr(path, '/') == NULL && strchr(path, '\\') == NULL;
	HMODULE h = bare ? LoadLibraryExW(wpath, NULL, LOAD_LIBRARY_SEARCH_SYSTEM32) : LoadLibraryW(wpath);
	if (!h) *err = win_error("LoadLibrary");
	return (void *)h;
}

static void *lib_sym(void *h, const char *name) { return (void *)GetProcAddress((HMODULE)h, name); }
static void lib_close(void *h) { FreeLibrary((HMODULE)h); }
#else
static void *lib_open(const char *path, const char **err) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) *err = dlerror();
	return h;
}

static void *lib_sym(void *h, const char *name) { return dlsym(h, name); }
static void lib_close(void *h) { dlclose(h); }
#endif

const char *vr_open(const char *path) {
	if (lib) return NULL;
	const char *err = "cannot open library";
	void *h = lib_open(path, &err);
	if (!h) return err;
	PFN_vkGetInstanceProcAddr g = (PFN_vkGetInstanceProcAddr)lib_sym(h, "vkGetInstanceProcAddr");
	if (!g) {
		lib_close(h);
		return "library has no vkGetInstanceProcAddr";
	}
	create_instance = (PFN_vkCreateInstance)g(NULL, "vkCreateInstance");
	enum_layers = (PFN_vkEnumerateInstanceLayerProperties)g(NULL, "vkEnumerateInstanceLayerProperties");
	enum_inst_exts =
	    (PFN_vkEnumerateInstanceExtensionProperties)g(NULL, "vkEnumerateInstanceExtensionProperties");
	enum_version = (PFN_vkEnumerateInstanceVersion)g(NULL, "vkEnumerateInstanceVersion");
	if (!create_instance || !enum_layers || !enum_inst_exts) {
		lib_close(h);
		return "library lacks the Vulkan 1.0 global entry points";
	}
	gipa = g;
	lib = h;
	return NULL;
}

int vr_library_loaded(void) { return lib != NULL; }


VkResult vr_instance_version(uint32_t *version) {
	if (!enum_version) {
		*version = VK_API_VERSION_1_0;
		return VK_SUCCESS;
	}
	return enum_version(version);
}

VkResult vr_layer_available(const char *name, int *found) {
	uint32_t n = 0;
	*found = 0;
	VkResult r = enum_layers(&n, NULL);
	if (r != VK_SUCCESS) return r;
	VkLayerProperties *p = calloc(n ? n : 1, sizeof *p);
	if (!p) return VK_ERROR_OUT_OF_HOST_MEMORY;
	r = enum_layers(&n, p);
	if (r >= 0) {
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(p[i].layerName, name) == 0) *found = 1;
		r = VK_SUCCESS;
	}
	free(p);
	return r;
}

VkResult vr_instance_ext_available(const char *name, int *found) {
	uint32_t n = 0;
	*found = 0;
	VkResult r = enum_inst_exts(NULL, &n, NULL);
	if (r != VK_SUCCESS) return r;
	VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
	if (!p) return VK_ERROR_OUT_OF_HOST_MEMORY;
	r = enum_inst_exts(NULL, &n, p);
	if (r >= 0) {
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(p[i].extensionName, name) == 0) *found = 1;
		r = VK_SUCCESS;
	}
	free(p);
	return r;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL debug_cb(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
					       VkDebugUtilsMessageTypeFlagsEXT types,
					       const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
	viltDebugMessage((uint32_t)severity, (uint32_t)types, (char *)(data->pMessageIdName ? data->pMessageIdName : ""),
			 (char *)(data->pMessage ? data->pMessage : ""), (uintptr_t)user);
	return VK_FALSE;
}

#define LOADI(vi, name)                                                                       \
	do {                                                                                  \
		vi->name = (PFN_vk##name)gipa(vi->instance, "vk" #name);                    \
	} while (0)

VkResult vr_create_instance(vr_instance *vi, uint32_t api_version, int validate, int portability,
			    int debug_utils, uintptr_t user_data) {
	memset(vi, 0, sizeof *vi);
	VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
	app.pApplicationName = "vilt-vk";
	app.applicationVersion = 1;
	app.pEngineName = "vilt-vk";
	app.engineVersion = 1;
	app.apiVersion = api_version;

	const char *layers[1];
	uint32_t nlayers = 0;
	if (validate) layers[nlayers++] = "VK_LAYER_KHRONOS_validation";
	const char *exts[4];
	uint32_t nexts = 0;
	if (portability) exts[nexts++] = "VK_KHR_portability_enumeration";
	if (debug_utils) exts[nexts++] = "VK_EXT_debug_utils";
	// Synchronization validation catches missing barriers that an in-order CPU driver hides.
	VkValidationFeatureEnableEXT enables[1] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
	VkValidationFeaturesEXT vf = {VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
	vf.enabledValidationFeatureCount = 1;
	vf.pEnabledValidationFeatures = enables;
	if (validate == 2) exts[nexts++] = "VK_EXT_validation_features";

	VkDebugUtilsMessengerCreateInfoEXT dbg = {VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
	dbg.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
			      VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
	dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
			  VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
			  VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
	dbg.pfnUserCallback = debug_cb;
	dbg.pUserData = (void *)user_data;

	VkInstanceCreateInfo ci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
	ci.pApplicationInfo = &app;
	ci.enabledLayerCount = nlayers;
	ci.ppEnabledLayerNames = layers;
	ci.enabledExtensionCount = nexts;
	ci.ppEnabledExtensionNames = exts;
	if (portability) ci.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
	if (debug_utils) ci.pNext = &dbg; // also covers vkCreateInstance/vkDestroyInstance
	if (validate == 2) {
		vf.pNext = (void *)ci.pNext;
		ci.pNext = &vf;
	}
	VkResult r = create_instance(&ci, NULL, &vi->instance);
	if (r != VK_SUCCESS) return r;
	vi->api_version = api_version;
	vi->GetInstanceProcAddr = gipa;
	LOADI(vi, DestroyInstance);
	LOADI(vi, EnumeratePhysicalDevices);
	LOADI(vi, GetPhysicalDeviceProperties);
	LOADI(vi, GetPhysicalDeviceMemoryProperties);
	LOADI(vi, GetPhysicalDeviceFormatProperties);
	LOADI(vi, GetPhysicalDeviceQueueFamilyProperties);
	LOADI(vi, EnumerateDeviceExtensionProperties);
	LOADI(vi, CreateDevice);
	LOADI(vi, GetDeviceProcAddr);
	if (api_version >= VK_API_VERSION_1_1) {
		LOADI(vi, GetPhysicalDeviceProperties2);
		LOADI(vi, GetPhysicalDeviceFeatures2);
	}
	if (debug_utils) {
		LOADI(vi, CreateDebugUtilsMessengerEXT);
		LOADI(vi, DestroyDebugUtilsMessengerEXT);
		if (vi->CreateDebugUtilsMessengerEXT) {
			r = vi->CreateDebugUtilsMessengerEXT(vi->instance, &dbg, NULL, &vi->messenger);
			if (r != VK_SUCCESS) {
				vi->DestroyInstance(vi->instance, NULL);
				vi->instance = VK_NULL_HANDLE;
				return r;
			}
		}
	}
	return VK_SUCCESS;
}

void vr_destroy_instance(vr_instance *vi) {
	if (!vi->instance) return;
	if (vi->messenger && vi->DestroyDebugUtilsMessengerEXT)
		vi->DestroyDebugUtilsMessengerEXT(vi->instance, vi->messenger, NULL);
	vi->DestroyInstance(vi->instance, NULL);
	vi->instance = VK_NULL_HANDLE;
	vi->messenger = VK_NULL_HANDLE;
}

VkResult vr_enumerate_physical_devices(vr_instance *vi, uint32_t *count, VkPhysicalDevice *out) {
	return vi->EnumeratePhysicalDevices(vi->instance, count, out);
}

static int has_ext(VkExtensionProperties *p, uint32_t n, const char *name) {
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(p[i].extensionName, name) == 0) return 1;
	return 0;
}

VkResult vr_device_info(vr_instance *vi, VkPhysicalDevice pd, vr_devinfo *info) {
	memset(info, 0, sizeof *info);
	vi->GetPhysicalDeviceProperties(pd, &info->props);
	vi->GetPhysicalDeviceMemoryProperties(pd, &info->mem);
	if (vi->GetPhysicalDeviceFormatProperties) {
		VkFormatProperties fp;
		memset(&fp, 0, sizeof fp);
		vi->GetPhysicalDeviceFormatProperties(pd, VK_FORMAT_R16G16B16A16_SFLOAT, &fp);
		info->texel_rgba16f = (fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) != 0;
	}

	uint32_t next = 0;
	VkResult r = vi->EnumerateDeviceExtensionProperties(pd, NULL, &next, NULL);
	if (r != VK_SUCCESS) return r;
	VkExtensionProperties *exts = calloc(next ? next : 1, sizeof *exts);
	if (!exts) return VK_ERROR_OUT_OF_HOST_MEMORY;
	r = vi->EnumerateDeviceExtensionProperties(pd, NULL, &next, exts);
	if (r < 0) {
		free(exts);
		return r;
	}
	info->has_coopmat_khr = has_ext(exts, next, "VK_KHR_cooperative_matrix");
	info->has_coopmat_nv = has_ext(exts, next, "VK_NV_cooperative_matrix");
	info->has_portability_subset = has_ext(exts, next, "VK_KHR_portability_subset");
	info->has_subgroup_size_control_ext = has_ext(exts, next, "VK_EXT_subgroup_size_control");
	int has_driver_props = has_ext(exts, next, "VK_KHR_driver_properties");
	int has_f16i8 = has_ext(exts, next, "VK_KHR_shader_float16_int8");
	int has_16bit = has_ext(exts, next, "VK_KHR_16bit_storage");
	int has_8bit = has_ext(exts, next, "VK_KHR_8bit_storage");
	free(exts);

	uint32_t dev_api = info->props.apiVersion;
	if (vi->GetPhysicalDeviceProperties2 && dev_api >= VK_API_VERSION_1_1) {
		VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
		VkPhysicalDeviceSubgroupProperties sg = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
		VkPhysicalDeviceIDProperties idp = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
		VkPhysicalDeviceDriverProperties drv = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
		VkPhysicalDeviceSubgroupSizeControlProperties sgc = {
		    VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
		p2.pNext = &sg;
		sg.pNext = &idp;
		void **tail = &idp.pNext;
		if (dev_api >= VK_API_VERSION_1_2 || has_driver_props) {
			*tail = &drv;
			tail = &drv.pNext;
		}
		int sgc_ok = dev_api >= VK_API_VERSION_1_3 || info->has_subgroup_size_control_ext;
		if (sgc_ok) {
			*tail = &sgc;
			tail = &sgc.pNext;
		}
		vi->GetPhysicalDeviceProperties2(pd, &p2);
		info->subgroup_size = sg.subgroupSize;
		info->subgroup_stages = sg.supportedStages;
		info->subgroup_ops = sg.supportedOperations;
		memcpy(info->device_uuid, idp.deviceUUID, VK_UUID_SIZE);
		memcpy(info->driver_uuid, idp.driverUUID, VK_UUID_SIZE);
		if (dev_api >= VK_API_VERSION_1_2 || has_driver_props) {
			info->driver_id = drv.driverID;
			memcpy(info->driver_name, drv.driverName, VK_MAX_DRIVER_NAME_SIZE);
			memcpy(info->driver_info, drv.driverInfo, VK_MAX_DRIVER_INFO_SIZE);
		}
		if (sgc_ok) {
			info->min_subgroup_size = sgc.minSubgroupSize;
			info->max_subgroup_size = sgc.maxSubgroupSize;
			info->required_subgroup_size_stages = sgc.requiredSubgroupSizeStages;
		}

		VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
		VkPhysicalDeviceShaderFloat16Int8Features f16 = {
		    VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
		VkPhysicalDevice16BitStorageFeatures s16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
		VkPhysicalDevice8BitStorageFeatures s8 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
		VkPhysicalDeviceSubgroupSizeControlFeatures sgcf = {
		    VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
		f2.pNext = &s16; // 16-bit storage is core in 1.1
		tail = &s16.pNext;
		if (dev_api >= VK_API_VERSION_1_2 || has_f16i8) {
			*tail = &f16;
			tail = &f16.pNext;
		}
		if (dev_api >= VK_API_VERSION_1_2 || has_8bit) {
			*tail = &s8;
			tail = &s8.pNext;
		}
		if (sgc_ok) {
			*tail = &sgcf;
			tail = &sgcf.pNext;
		}
		vi->GetPhysicalDeviceFeatures2(pd, &f2);
		info->shader_int64 = f2.features.shaderInt64;
		info->shader_float16 = f16.shaderFloat16;
		info->shader_int8 = f16.shaderInt8;
		info->storage_buffer16 = s16.storageBuffer16BitAccess;
		info->storage_buffer8 = s8.storageBuffer8BitAccess;
		info->subgroup_size_control = sgcf.subgroupSizeControl;
		info->compute_full_subgroups = sgcf.computeFullSubgroups;
		(void)has_16bit;
	}

	uint32_t nq = 0;
	vi->GetPhysicalDeviceQueueFamilyProperties(pd, &nq, NULL);
	VkQueueFamilyProperties *q = calloc(nq ? nq : 1, sizeof *q);
	if (!q) return VK_ERROR_OUT_OF_HOST_MEMORY;
	vi->GetPhysicalDeviceQueueFamilyProperties(pd, &nq, q);
	info->compute_family = -1;
	// Prefer a compute-only family (dedicated async compute), else any with compute.
	for (uint32_t i = 0; i < nq; i++) {
		if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
			info->compute_family = (int32_t)i;
			break;
		}
	}
	if (info->compute_family < 0) {
		for (uint32_t i = 0; i < nq; i++) {
			if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
				info->compute_family = (int32_t)i;
				break;
			}
		}
	}
	if (info->compute_family >= 0) {
		info->timestamp_valid_bits = q[info->compute_family].timestampValidBits;
		info->queue_count = q[info->compute_family].queueCount;
	}
	free(q);
	return VK_SUCCESS;
}

#define LOADD(d, name)                                                                          \
	do {                                                                                    \
		d->name = (PFN_vk##name)gdpa(d->device, "vk" #name);                          \
		if (!d->name) missing = 1;                                                      \
	} while (0)

VkResult vr_create_device(vr_instance *vi, VkPhysicalDevice pd, const vr_devinfo *info, vr_device *d) {
	memset(d, 0, sizeof *d);
	if (info->compute_family < 0) return VK_ERROR_FEATURE_NOT_PRESENT;
	float prio = 1.0f;
	VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
	qci.queueFamilyIndex = (uint32_t)info->compute_family;
	qci.queueCount = 1;
	qci.pQueuePriorities = &prio;

	const char *exts[4];
	uint32_t nexts = 0;
	if (info->has_portability_subset) exts[nexts++] = "VK_KHR_portability_subset";
	uint32_t dev_api = info->props.apiVersion;
	int sgc_ext = dev_api < VK_API_VERSION_1_3 && info->has_subgroup_size_control_ext &&
		      info->subgroup_size_control;
	if (sgc_ext) exts[nexts++] = "VK_EXT_subgroup_size_control";
	int f16_ext = dev_api < VK_API_VERSION_1_2 && (info->shader_float16 || info->shader_int8);
	if (f16_ext) exts[nexts++] = "VK_KHR_shader_float16_int8";

	// Enable exactly the optional features our shaders may declare, when present.
	VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
	VkPhysicalDeviceShaderFloat16Int8Features f16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
	VkPhysicalDevice16BitStorageFeatures s16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
	VkPhysicalDeviceSubgroupSizeControlFeatures sgcf = {
	    VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
	void **tail = &f2.pNext;
	if (dev_api >= VK_API_VERSION_1_1) {
		s16.storageBuffer16BitAccess = info->storage_buffer16;
		*tail = &s16;
		tail = &s16.pNext;
	}
	if (info->shader_float16 || info->shader_int8) {
		f16.shaderFloat16 = info->shader_float16;
		f16.shaderInt8 = info->shader_int8;
		*tail = &f16;
		tail = &f16.pNext;
	}
	if (info->subgroup_size_control && (dev_api >= VK_API_VERSION_1_3 || sgc_ext)) {
		sgcf.subgroupSizeControl = 1;
		sgcf.computeFullSubgroups = info->compute_full_subgroups;
		*tail = &sgcf;
		tail = &sgcf.pNext;
	}

	VkDeviceCreateInfo ci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
	ci.queueCreateInfoCount = 1;
	ci.pQueueCreateInfos = &qci;
	ci.enabledExtensionCount = nexts;
	ci.ppEnabledExtensionNames = exts;
	if (dev_api >= VK_API_VERSION_1_1 && vi->GetPhysicalDeviceFeatures2) {
		f2.features.shaderInt64 = info->shader_int64;
		ci.pNext = &f2;
	}
	VkResult r = vi->CreateDevice(pd, &ci, NULL, &d->device);
	if (r != VK_SUCCESS) return r;
	PFN_vkGetDeviceProcAddr gdpa = vi->GetDeviceProcAddr;
	int missing = 0;
	LOADD(d, DestroyDevice);
	LOADD(d, GetDeviceQueue);
	LOADD(d, DeviceWaitIdle);
	LOADD(d, AllocateMemory);
	LOADD(d, FreeMemory);
	LOADD(d, MapMemory);
	LOADD(d, UnmapMemory);
	LOADD(d, FlushMappedMemoryRanges);
	LOADD(d, InvalidateMappedMemoryRanges);
	LOADD(d, CreateBuffer);
	LOADD(d, DestroyBuffer);
	LOADD(d, GetBufferMemoryRequirements);
	LOADD(d, BindBufferMemory);
	LOADD(d, CreateBufferView);
	LOADD(d, DestroyBufferView);
	LOADD(d, CreateShaderModule);
	LOADD(d, DestroyShaderModule);
	LOADD(d, CreateDescriptorSetLayout);
	LOADD(d, DestroyDescriptorSetLayout);
	LOADD(d, CreatePipelineLayout);
	LOADD(d, DestroyPipelineLayout);
	LOADD(d, CreateComputePipelines);
	LOADD(d, DestroyPipeline);
	LOADD(d, CreatePipelineCache);
	LOADD(d, GetPipelineCacheData);
	LOADD(d, DestroyPipelineCache);
	LOADD(d, CreateDescriptorPool);
	LOADD(d, DestroyDescriptorPool);
	LOADD(d, ResetDescriptorPool);
	LOADD(d, AllocateDescriptorSets);
	LOADD(d, UpdateDescriptorSets);
	LOADD(d, CreateCommandPool);
	LOADD(d, DestroyCommandPool);
	LOADD(d, AllocateCommandBuffers);
	LOADD(d, FreeCommandBuffers);
	LOADD(d, BeginCommandBuffer);
	LOADD(d, EndCommandBuffer);
	LOADD(d, ResetCommandBuffer);
	LOADD(d, CmdBindPipeline);
	LOADD(d, CmdBindDescriptorSets);
	LOADD(d, CmdPushConstants);
	LOADD(d, CmdDispatch);
	LOADD(d, CmdPipelineBarrier);
	LOADD(d, CmdCopyBuffer);
	LOADD(d, CmdFillBuffer);
	LOADD(d, CmdResetQueryPool);
	LOADD(d, CmdWriteTimestamp);
	LOADD(d, CreateQueryPool);
	LOADD(d, DestroyQueryPool);
	LOADD(d, GetQueryPoolResults);
	LOADD(d, QueueSubmit);
	LOADD(d, QueueWaitIdle);
	LOADD(d, CreateFence);
	LOADD(d, DestroyFence);
	LOADD(d, WaitForFences);
	LOADD(d, ResetFences);
	LOADD(d, GetFenceStatus);
	if (missing) {
		if (d->DestroyDevice) d->DestroyDevice(d->device, NULL);
		d->device = VK_NULL_HANDLE;
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	d->queue_family = (uint32_t)info->compute_family;
	d->GetDeviceQueue(d->device, d->queue_family, 0, &d->queue);
	return VK_SUCCESS;
}

void vr_destroy_device_wait(vr_device *d) {
	if (d->device) d->DeviceWaitIdle(d->device);
}

void vr_destroy_device(vr_device *d) {
	if (!d->device) return;
	d->DeviceWaitIdle(d->device);
	d->DestroyDevice(d->device, NULL);
	d->device = VK_NULL_HANDLE;
}

VkResult vr_create_buffer(vr_device *d, VkDeviceSize size, uint32_t mem_type, VkBuffer *buf,
			  VkDeviceMemory *mem, void **mapped) {
	*buf = VK_NULL_HANDLE;
	*mem = VK_NULL_HANDLE;
	VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
	bci.size = size;
	bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
		    VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
		    VK_BUFFER_USAGE_TRANSFER_DST_BIT;
	bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
	VkResult r = d->CreateBuffer(d->device, &bci, NULL, buf);
	if (r != VK_SUCCESS) return r;
	VkMemoryRequirements req;
	d->GetBufferMemoryRequirements(d->device, *buf, &req);
	if (!(req.memoryTypeBits & (1u << mem_type))) {
		d->DestroyBuffer(d->device, *buf, NULL);
		*buf = VK_NULL_HANDLE;
		return VK_ERROR_FORMAT_NOT_SUPPORTED;
	}
	VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
	mai.allocationSize = req.size;
	mai.memoryTypeIndex = mem_type;
	r = d->AllocateMemory(d->device, &mai, NULL, mem);
	if (r != VK_SUCCESS) {
		d->DestroyBuffer(d->device, *buf, NULL);
		*buf = VK_NULL_HANDLE;
		*mem = VK_NULL_HANDLE;
		return r;
	}
	r = d->BindBufferMemory(d->device, *buf, *mem, 0);
	if (r == VK_SUCCESS && mapped) r = d->MapMemory(d->device, *mem, 0, VK_WHOLE_SIZE, 0, mapped);
	if (r != VK_SUCCESS) {
		d->DestroyBuffer(d->device, *buf, NULL);
		d->FreeMemory(d->device, *mem, NULL);
		*buf = VK_NULL_HANDLE;
		*mem = VK_NULL_HANDLE;
	}
	return r;
}

VkResult vr_buffer_type_bits(vr_device *d, uint32_t *bits) {
	VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
	bci.size = 256;
	bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
		    VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
		    VK_BUFFER_USAGE_TRANSFER_DST_BIT;
	bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
	VkBuffer b;
	VkResult r = d->CreateBuffer(d->device, &bci, NULL, &b);
	if (r != VK_SUCCESS) return r;
	VkMemoryRequirements req;
	d->GetBufferMemoryRequirements(d->device, b, &req);
	*bits = req.memoryTypeBits;
	d->DestroyBuffer(d->device, b, NULL);
	return VK_SUCCESS;
}

VkResult vr_flush(vr_device *d, VkDeviceMemory mem, VkDeviceSize off, VkDeviceSize size, int invalidate) {
	VkMappedMemoryRange r = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
	r.memory = mem;
	r.offset = off;
	r.size = size;
	if (invalidate) return d->InvalidateMappedMemoryRanges(d->device, 1, &r);
	return d->FlushMappedMemoryRanges(d->device, 1, &r);
}

void vr_destroy_buffer(vr_device *d, VkBuffer buf, VkDeviceMemory mem, int mapped) {
	if (buf) d->DestroyBuffer(d->device, buf, NULL);
	if (mem) {
		if (mapped) d->UnmapMemory(d->device, mem);
		d->FreeMemory(d->device, mem, NULL);
	}
}

VkResult vr_create_buffer_view(vr_device *d, VkBuffer buf, VkFormat format, VkDeviceSize offset,
			       VkDeviceSize range, VkBufferView *view) {
	VkBufferViewCreateInfo ci = {VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
	ci.buffer = buf;
	ci.format = format;
	ci.offset = offset;
	ci.range = range;
	return d->CreateBufferView(d->device, &ci, NULL, view);
}

void vr_destroy_buffer_view(vr_device *d, VkBufferView view) {
	if (view) d->DestroyBufferView(d->device, view, NULL);
}

VkResult vr_create_kernel(vr_device *d, VkPipelineCache cache, const uint32_t *code, size_t code_size,
			  uint32_t nbind, const uint32_t *types, uint32_t push_size, uint32_t nspec,
			  const uint32_t *spec, uint32_t required_subgroup_size, VkShaderModule *module,
			  VkDescriptorSetLayout *set_layout, VkPipelineLayout *layout,
			  VkPipeline *pipeline) {
	*module = VK_NULL_HANDLE;
	*set_layout = VK_NULL_HANDLE;
	*layout = VK_NULL_HANDLE;
	*pipeline = VK_NULL_HANDLE;
	if (nbind > VR_MAX_BINDINGS) return VK_ERROR_INITIALIZATION_FAILED;
	VkShaderModuleCreateInfo smci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
	smci.codeSize = code_size;
	smci.pCode = code;
	VkResult r = d->CreateShaderModule(d->device, &smci, NULL, module);
	if (r != VK_SUCCESS) goto fail;

	VkDescriptorSetLayoutBinding b[VR_MAX_BINDINGS];
	memset(b, 0, sizeof b);
	for (uint32_t i = 0; i < nbind; i++) {
		b[i].binding = i;
		b[i].descriptorType = (VkDescriptorType)types[i];
		b[i].descriptorCount = 1;
		b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
	}
	VkDescriptorSetLayoutCreateInfo dslci = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
	dslci.bindingCount = nbind;
	dslci.pBindings = b;
	r = d->CreateDescriptorSetLayout(d->device, &dslci, NULL, set_layout);
	if (r != VK_SUCCESS) goto fail;

	VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size};
	VkPipelineLayoutCreateInfo plci = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
	plci.setLayoutCount = 1;
	plci.pSetLayouts = set_layout;
	plci.pushConstantRangeCount = push_size ? 1 : 0;
	plci.pPushConstantRanges = push_size ? &pcr : NULL;
	r = d->CreatePipelineLayout(d->device, &plci, NULL, layout);
	if (r != VK_SUCCESS) goto fail;

	VkSpecializationMapEntry entries[64];
	if (nspec > 64) {
		r = VK_ERROR_INITIALIZATION_FAILED;
		goto fail;
	}
	for (uint32_t i = 0; i < nspec; i++) {
		entries[i].constantID = spec[2 * i];
		entries[i].offset = 4 * i;
		entries[i].size = 4;
	}
	uint32_t values[64];
	for (uint32_t i = 0; i < nspec; i++) values[i] = spec[2 * i + 1];
	VkSpecializationInfo si = {nspec, entries, 4 * nspec, values};

	VkPipelineShaderStageRequiredSubgroupSizeCreateInfo rss = {
	    VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
	rss.requiredSubgroupSize = required_subgroup_size;

	VkComputePipelineCreateInfo cpci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
	cpci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
	cpci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
	cpci.stage.module = *module;
	cpci.stage.pName = "main";
	cpci.stage.pSpecializationInfo = nspec ? &si : NULL;
	if (required_subgroup_size) cpci.stage.pNext = &rss;
	cpci.layout = *layout;
	r = d->CreateComputePipelines(d->device, cache, 1, &cpci, NULL, pipeline);
	if (r != VK_SUCCESS) goto fail;
	return VK_SUCCESS;
fail:
	vr_destroy_kernel(d, *module, *set_layout, *layout, *pipeline);
	*module = VK_NULL_HANDLE;
	*set_layout = VK_NULL_HANDLE;
	*layout = VK_NULL_HANDLE;
	*pipeline = VK_NULL_HANDLE;
	return r;
}

void vr_destroy_kernel(vr_device *d, VkShaderModule module, VkDescriptorSetLayout set_layout,
		       VkPipelineLayout layout, VkPipeline pipeline) {
	if (pipeline) d->DestroyPipeline(d->device, pipeline, NULL);
	if (layout) d->DestroyPipelineLayout(d->device, layout, NULL);
	if (set_layout) d->DestroyDescriptorSetLayout(d->device, set_layout, NULL);
	if (module) d->DestroyShaderModule(d->device, module, NULL);
}

VkResult vr_create_pipeline_cache(vr_device *d, const void *data, size_t size, VkPipelineCache *cache) {
	VkPipelineCacheCreateInfo ci = {VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
	ci.initialDataSize = size;
	ci.pInitialData = data;
	return d->CreatePipelineCache(d->device, &ci, NULL, cache);
}

VkResult vr_pipeline_cache_data(vr_device *d, VkPipelineCache cache, size_t *size, void *data) {
	return d->GetPipelineCacheData(d->device, cache, size, data);
}

void vr_destroy_pipeline_cache(vr_device *d, VkPipelineCache cache) {
	if (cache) d->DestroyPipelineCache(d->device, cache, NULL);
}

VkResult vr_create_descriptor_pool(vr_device *d, uint32_t max_sets, uint32_t nstorage, uint32_t ntexel,
				   VkDescriptorPool *pool) {
	VkDescriptorPoolSize sizes[2] = {
	    {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, nstorage},
	    {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, ntexel},
	};
	VkDescriptorPoolCreateInfo ci = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
	ci.maxSets = max_sets;
	ci.poolSizeCount = 2;
	ci.pPoolSizes = sizes;
	return d->CreateDescriptorPool(d->device, &ci, NULL, pool);
}

void vr_destroy_descriptor_pool(vr_device *d, VkDescriptorPool pool) {
	if (pool) d->DestroyDescriptorPool(d->device, pool, NULL);
}

VkResult vr_create_command(vr_device *d, VkCommandPool *pool, VkCommandBuffer *cb, VkFence *fence) {
	*pool = VK_NULL_HANDLE;
	*cb = VK_NULL_HANDLE;
	*fence = VK_NULL_HANDLE;
	VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
	pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
	pci.queueFamilyIndex = d->queue_family;
	VkResult r = d->CreateCommandPool(d->device, &pci, NULL, pool);
	if (r != VK_SUCCESS) return r;
	VkCommandBufferAllocateInfo ai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
	ai.commandPool = *pool;
	ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
	ai.commandBufferCount = 1;
	r = d->AllocateCommandBuffers(d->device, &ai, cb);
	if (r == VK_SUCCESS) {
		VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
		r = d->CreateFence(d->device, &fci, NULL, fence);
	}
	if (r != VK_SUCCESS) {
		vr_destroy_command(d, *pool, *cb, *fence);
		*pool = VK_NULL_HANDLE;
		*cb = VK_NULL_HANDLE;
		*fence = VK_NULL_HANDLE;
	}
	return r;
}

void vr_destroy_command(vr_device *d, VkCommandPool pool, VkCommandBuffer cb, VkFence fence) {
	if (fence) d->DestroyFence(d->device, fence, NULL);
	if (cb) d->FreeCommandBuffers(d->device, pool, 1, &cb);
	if (pool) d->DestroyCommandPool(d->device, pool, NULL);
}

VkResult vr_begin(vr_device *d, VkCommandBuffer cb) {
	VkResult r = d->ResetCommandBuffer(cb, 0);
	if (r != VK_SUCCESS) return r;
	VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	return d->BeginCommandBuffer(cb, &bi);
}

VkResult vr_end(vr_device *d, VkCommandBuffer cb) { return d->EndCommandBuffer(cb); }

void vr_record_barrier(vr_device *d, VkCommandBuffer cb, uint32_t src_stage, uint32_t src_access,
		       uint32_t dst_stage, uint32_t dst_access) {
	VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
	mb.srcAccessMask = src_access;
	mb.dstAccessMask = dst_access;
	d->CmdPipelineBarrier(cb, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

VkResult vr_record_dispatch(vr_device *d, VkCommandBuffer cb, vr_dispatch *a) {
	VkDescriptorSet set;
	VkDescriptorSetAllocateInfo ai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
	ai.descriptorPool = a->pool;
	ai.descriptorSetCount = 1;
	ai.pSetLayouts = &a->set_layout;
	VkResult r = d->AllocateDescriptorSets(d->device, &ai, &set);
	if (r != VK_SUCCESS) return r; // caller adds a pool and retries
	VkWriteDescriptorSet w[VR_MAX_BINDINGS];
	VkDescriptorBufferInfo bi[VR_MAX_BINDINGS];
	memset(w, 0, sizeof w);
	for (uint32_t i = 0; i < a->nbind; i++) {
		w[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
		w[i].dstSet = set;
		w[i].dstBinding = i;
		w[i].descriptorCount = 1;
		w[i].descriptorType = (VkDescriptorType)a->types[i];
		if (a->types[i] == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER ||
		    a->types[i] == VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER) {
			w[i].pTexelBufferView = &a->views[i];
		} else {
			bi[i].buffer = a->buffers[i];
			bi[i].offset = a->offsets[i];
			bi[i].range = a->ranges[i];
			w[i].pBufferInfo = &bi[i];
		}
	}
	d->UpdateDescriptorSets(d->device, a->nbind, w, 0, NULL);
	if (a->barrier)
		vr_record_barrier(d, cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
				  VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
				  VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
				  VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
	if (a->query_pool)
		d->CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, a->query_pool, a->query);
	if (a->bind_pipeline) d->CmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, a->pipeline);
	d->CmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, a->layout, 0, 1, &set, 0, NULL);
	if (a->push_size)
		d->CmdPushConstants(cb, a->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, a->push_size, a->push);
	d->CmdDispatch(cb, a->groups[0], a->groups[1], a->groups[2]);
	if (a->query_pool)
		d->CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, a->query_pool, a->query + 1);
	return VK_SUCCESS;
}

void vr_record_copy(vr_device *d, VkCommandBuffer cb, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
		    VkDeviceSize dst_off, VkDeviceSize size) {
	VkBufferCopy c = {src_off, dst_off, size};
	d->CmdCopyBuffer(cb, src, dst, 1, &c);
}

void vr_record_fill(vr_device *d, VkCommandBuffer cb, VkBuffer dst, VkDeviceSize off, VkDeviceSize size,
		    uint32_t value) {
	d->CmdFillBuffer(cb, dst, off, size, value);
}

void vr_record_timestamp(vr_device *d, VkCommandBuffer cb, VkQueryPool pool, uint32_t query) {
	d->CmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, query);
}

VkResult vr_submit(vr_device *d, VkCommandBuffer cb, VkFence fence) {
	VkResult r = d->ResetFences(d->device, 1, &fence);
	if (r != VK_SUCCESS) return r;
	VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
	si.commandBufferCount = 1;
	si.pCommandBuffers = &cb;
	return d->QueueSubmit(d->queue, 1, &si, fence);
}

VkResult vr_wait(vr_device *d, VkFence fence, uint64_t timeout_ns) {
	return d->WaitForFences(d->device, 1, &fence, VK_TRUE, timeout_ns);
}

VkResult vr_create_query_pool(vr_device *d, uint32_t count, VkQueryPool *pool) {
	VkQueryPoolCreateInfo ci = {VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
	ci.queryType = VK_QUERY_TYPE_TIMESTAMP;
	ci.queryCount = count;
	return d->CreateQueryPool(d->device, &ci, NULL, pool);
}

void vr_destroy_query_pool(vr_device *d, VkQueryPool pool) {
	if (pool) d->DestroyQueryPool(d->device, pool, NULL);
}

VkResult vr_query_results(vr_device *d, VkQueryPool pool, uint32_t first, uint32_t count, uint64_t *out) {
	return d->GetQueryPoolResults(d->device, pool, first, count, (size_t)count * 8, out, 8,
				      VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
}

void vr_record_reset_queries(vr_device *d, VkCommandBuffer cb, VkQueryPool pool, uint32_t first,
			     uint32_t count) {
	d->CmdResetQueryPool(cb, pool, first, count);
}

void vr_memcpy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
